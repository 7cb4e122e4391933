"""Which commit a record names."""

from replication import provenance


def test_the_environment_names_the_commit_of_a_copied_tree(monkeypatch):
    """A GPU machine's copy may carry a stale .git of another commit: the commit named in the
    environment wins, with its dirty flag."""
    provenance.code_version.cache_clear()
    monkeypatch.setenv("REPLICATION_GIT_SHA", "0123abc")
    monkeypatch.setenv("REPLICATION_GIT_DIRTY", "1")
    try:
        got = provenance.code_version()
    finally:
        provenance.code_version.cache_clear()
    assert got == {"git_sha": "0123abc", "git_dirty": True, "git_source": "REPLICATION_GIT_SHA"}


def test_without_the_environment_git_is_asked(monkeypatch):
    monkeypatch.delenv("REPLICATION_GIT_SHA", raising=False)
    provenance.code_version.cache_clear()
    try:
        got = provenance.code_version()
    finally:
        provenance.code_version.cache_clear()
    assert "git_source" not in got
    assert len(got["git_sha"]) == 40 or got["git_sha"] == "unknown"
