"""The chapter registry (nas_core.chapters) is consistent: what the CLI and the book derive from it exists."""
from collections import Counter

from nas_core import chapters, parameters, rehearsal


def _duplicates(names) -> list:
    return [n for n, k in Counter(names).items() if k > 1]


def test_registry_is_consistent():
    names = [c.name for c in chapters.CHAPTERS]
    assert not _duplicates(names), "two chapters with one name"
    for c in chapters.CHAPTERS:
        assert c.notebook.exists(), f"chapter {c.name} has no notebooks/{c.name}.ipynb"
        assert c.part in chapters.PARTS, f"chapter {c.name}: unknown part {c.part!r}"
        assert c.trains in (None, "ladder", "ladder+seeds", "top", "table3"), c.name
        assert set(c.data_spaces) <= set(chapters.SPACE_ORDER), c.name
    assert not _duplicates(chapters.PARTS)
    assert all(names for _, names in chapters.part_chapters()), "a part without a chapter"

    labels = [item.label for item, _ in chapters.PAPER_ITEMS]
    assert not _duplicates(labels), "a paper item in two chapters"
    assert labels == [f"Table {i}" for i in range(1, 5)] + [f"Figure {i}" for i in range(1, 19)]
    for item, chapter in chapters.PAPER_ITEMS:
        assert chapter in chapters.CHAPTER or (chapter is None and item in chapters.APPENDIX_ITEMS), item.label
        assert item.spaces and set(item.spaces) <= set(chapters.SPACE_ORDER), item.label
        assert item.verdict_of is None or item.verdict_of in chapters.ITEM, item.label

    for finding in chapters.FINDINGS:
        assert finding.items and set(finding.items) <= set(chapters.ITEM), finding.text
        assert set(chapters.finding_chapters(finding)) <= set(chapters.CHAPTER), finding.text

    # what lives beside the registry, per chapter: its parameter rules and its rehearsal plan
    assert set(parameters.RULES) == set(names)
    assert set(rehearsal.experiments()) <= set(names)
