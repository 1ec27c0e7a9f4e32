"""Run directories -> pandas frames -> matplotlib figures and tables. Never imports torch.

    python -m reports runs/ --out report/          # every run under a runs root
    from reports.curves import write_run_plots     # loss.png + ppl.png for one run
    from reports.build import build_report         # the whole report, as the CLI writes it
"""
