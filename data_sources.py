"""Where each dataset's raw files come from and how to check them: one table, read by data.py.

    for source in SOURCES["tinyshakespeare"]: print(source.path, source.url, source.sha256)

A new dataset's downloadable files are one entry here; `python data.py download NAME` fetches
them into the data root and checks each against its sha256 (or git blob id).
"""
from __future__ import annotations

from dataclasses import dataclass

GPT1_DIR = "ift6135-wikitext2-gpt1bpe"
WT103_ZIP = "wikitext-103/wikitext-103-raw-v1.zip"   # read in place: wikitext-103-raw/wiki.<split>.raw
GPT2_FILES = {"encoder": "gpt2/encoder.json", "merges": "gpt2/vocab.bpe"}   # OpenAI's GPT-2 BPE


@dataclass(frozen=True)
class Source:
    """A raw file: where it goes under the data root, where it comes from, how to check it."""
    path: str
    url: str
    sha256: str = ""
    git_blob: str = ""   # for files whose sha256 is unknown: `git hash-object` id


def _github(repo: str, commit: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


_EXAMPLES = ("pytorch/examples", "77f55b912142e11fcfdf5b530231fb9c52f181e8")
_IFT = ("Pietracoops/IFT6135_A2", "241c233f4c821ecc7ee3bd396d0d2174541f53df")
_OPENAI = ("openai/finetune-transformer-lm", "a69b5c43b0452462890bca8ff92fb75dee9290cf")
_CS224N = ("borislavmavrin/cs224n-a5", "24a217d56ba0d26200a58eb7ebdf082d6885b5ee")
# SST-2 as SentEval fetches it (labelled dev 872 and test 1,821 sentences; train: GLUE's 67,349
# phrases), `sentence<TAB>label` lines; sha256 of the files at this commit
_SIF = ("PrincetonML/SIF", "84b5b4c1c1ca20b6af19fc78cae005a1818ec571")
SOURCES: dict[str, tuple[Source, ...]] = {  # checksums from shared/data/SOURCES.md
    "tinyshakespeare": (
        Source("tinyshakespeare/input.txt",
               _github("karpathy/char-rnn", "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e",
                       "data/tinyshakespeare/input.txt"),
               "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),),
    "wikitext2": (
        Source("wikitext-2/train.txt", _github(*_EXAMPLES, "word_language_model/data/wikitext-2/train.txt"),
               git_blob="2d84b35af79e411d73ea7cae83c73964c6ac83b4"),
        Source("wikitext-2/valid.txt", _github(*_EXAMPLES, "word_language_model/data/wikitext-2/valid.txt"),
               "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8"),
        Source("wikitext-2/test.txt", _github(*_EXAMPLES, "word_language_model/data/wikitext-2/test.txt"),
               "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0")),
    "wikitext2-gpt1": (
        Source(f"{GPT1_DIR}/wiki.train.npz", _github(*_IFT, "data/wiki.train.npz"),
               "64513a83b2f7bc952318aea06c63e9fabf349352ccdcc972cf7d40a0522f1131"),
        Source(f"{GPT1_DIR}/wiki.validation.npz", _github(*_IFT, "data/wiki.validation.npz"),
               "b1ac035ce1b48ef98bb64cc58e48eadcb12c9affaf38ba6a32f287a8c3501ab3"),
        Source(f"{GPT1_DIR}/wiki.test.npz", _github(*_IFT, "data/wiki.test.npz"),
               "8222625565bfb25cb36f5135c2a9c9c9934ba305cf02d004edfc8a2e3df58152"),
        Source(f"{GPT1_DIR}/encoder_bpe_40000.json", _github(*_OPENAI, "model/encoder_bpe_40000.json"),
               "fdf49b19e7de236852091da09b84a7a3cd5e7b0e79916376cf45f6b8127b8078"),
        Source(f"{GPT1_DIR}/vocab_40000.bpe", _github(*_OPENAI, "model/vocab_40000.bpe"),
               "0ea9b51ae695073cd871e0358f7016311d671a7ff3963e367d5236522f294725")),
    # raw release (mirror of Salesforce's S3 zip); sha256: huggingface/datasets wikitext infos
    "wikitext103": (
        Source(WT103_ZIP, "https://wikitext.smerity.com/wikitext-103-raw-v1.zip",
               "91c00ae287f0d699e18605c84afc9e45c192bc6b7797ff8837e5474655a33794"),),
    # the files (and sha256) of tiktoken's "gpt2" encoding
    "gpt2": (
        Source(GPT2_FILES["encoder"],
               "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json",
               "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"),
        Source(GPT2_FILES["merges"],
               "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe",
               "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5")),
    "birth_places": tuple(
        Source(f"birth_places/{name}", _github(*_CS224N, name), sha) for name, sha in (
            ("wiki.txt", "823bb536fca77c8b5a15b34b0dead6355d0cf1f806e822464bca28806c2fd055"),
            ("birth_places_train.tsv", "02364dfca78e23d2583a19f03a2d8cddd90ee3e1a3795ddec7f0addadea30b0d"),
            ("birth_dev.tsv", "101a56073eba0db9aad5e2aaf1aa9bf8bdae966ae3aaed8fc8cda5edfa7856da"),
            ("birth_test_inputs.tsv", "5ccd3b2a1682e0daf90d59488aef8805ef21b9d35795cc3bdabdea79d293aa1f"))),
    "sst2": tuple(
        Source(f"sst2/{split}.tsv", _github(*_SIF, f"data/sentiment-{name}"), sha) for split, name, sha in (
            ("train", "train", "10a92a297ec38e262386e5a2713b4bc70e5d18ced88b7f54bd171a26e5b34ab5"),
            ("valid", "dev", "9a6c7403b71a9b762158387afe4431253ae10cdfb2319b5275289f3766f48291"),
            ("test", "test", "4fefd1cd67526cf87ebc7fafc3afc21cc7cfa6ae53b45e74f77f9456e3c62752"))),
}
