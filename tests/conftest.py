import sys
from pathlib import Path

# Make tests/official_fixture.py importable from every test folder.
sys.path.insert(0, str(Path(__file__).parent))
