"""Evaluation: the official SemEval-2020 Task 11 span metrics."""
