"""Every error code an invoice can carry is explained in the README's table, and the two enums never overlap."""

from __future__ import annotations

import re

from core.errors import WatcherErrorCode
from extraction.models import ErrorCode
from tests.support import REPO


def test_the_readme_explains_every_error_code_and_no_other():
    readme = (REPO / "README.md").read_text()
    table = readme.split("## Error codes", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE))
    assert documented == {code.value for code in ErrorCode} | {code.value for code in WatcherErrorCode}
    assert not {code.value for code in ErrorCode} & {code.value for code in WatcherErrorCode}
