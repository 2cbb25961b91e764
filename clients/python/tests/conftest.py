"""Puts the client package (``clients/python``) on the path of every test."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
