"""Grading: a thin Docker layer, the check kinds, and the grader that turns them into a Report.

Nothing here imports a front end (Textual, argparse); a check never prints, it returns a result.
"""
