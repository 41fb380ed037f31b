"""Other tools' formats: Langfuse, Phoenix and OpenAI logs in (`judgeloop import --format`), Hugging Face
`datasets` and Argilla out (`judgeloop export --format hf|argilla`)."""

from judgeloop.interop.exports import write_argilla, write_hf
from judgeloop.interop.imports import IMPORT_FORMATS, ImportFormat, detect_format, normalise_records

__all__ = [
    "IMPORT_FORMATS",
    "ImportFormat",
    "detect_format",
    "normalise_records",
    "write_argilla",
    "write_hf",
]
