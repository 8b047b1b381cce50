"""File formats read and written by unspin (SemEval label and article files)."""
