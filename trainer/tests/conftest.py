import sys
from pathlib import Path

TRAINER = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TRAINER))  # tests import prepare.py as a module
