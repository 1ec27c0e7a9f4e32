"""A stop request for the trainer that fires after a fixed number of steps (shared by tests)."""


class StopAfter:
    """Fires on the trainer's `n`-th check; it checks once per step, so it stops after step n."""

    def __init__(self, n: int):
        self.calls, self.n = 0, n

    def is_set(self) -> bool:
        self.calls += 1
        return self.calls >= self.n
