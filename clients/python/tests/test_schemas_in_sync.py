"""The packaged schemas are byte-identical copies of the released schemas of the Java module."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
RELEASED = REPO_ROOT / "schemas/src/main/resources/io/moeplan/schemas/released"
PACKAGED = REPO_ROOT / "clients/python/moeplan/schemas"


def _avsc_files(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.glob("*/v*.avsc")}


def test_the_java_released_schemas_are_there():
    assert RELEASED.is_dir(), f"released schemas not found at {RELEASED}"
    assert _avsc_files(RELEASED), f"no released schema under {RELEASED}"


def test_every_released_schema_is_packaged():
    missing = sorted(_avsc_files(RELEASED) - _avsc_files(PACKAGED))
    assert not missing, f"copy these released schemas to {PACKAGED}: {missing}"


def test_no_schema_is_packaged_that_was_not_released():
    extra = sorted(_avsc_files(PACKAGED) - _avsc_files(RELEASED))
    assert not extra, f"packaged schemas that are not released: {extra}"


def test_every_packaged_schema_equals_the_released_one():
    differing = sorted(
        name
        for name in _avsc_files(RELEASED) & _avsc_files(PACKAGED)
        if (RELEASED / name).read_bytes() != (PACKAGED / name).read_bytes()
    )
    assert not differing, f"packaged schemas differ from {RELEASED}: {differing}"
