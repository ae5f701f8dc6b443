"""The .dockerignore matcher against docker's own cases (moby/patternmatcher's tests)."""

from __future__ import annotations

import pytest

from buildkit_runner.dockerignore import Matcher, PatternError, clean, read

# (pattern, path, excluded) as MatchesOrParentMatches answers them.
SINGLE = [
    ("**", "file", True),
    ("**", "file/", True),
    ("**/", "file", True),
    ("**", "dir/file", True),
    ("**/", "dir/file", True),
    ("**/**", "dir/file", True),
    ("dir/**", "dir/file", True),
    ("dir/**", "dir/dir2/file", True),
    ("**/dir", "dir", True),
    ("**/dir", "dir/file", True),
    ("**/dir2/*", "dir/dir2/file", True),
    ("**/dir2/*", "dir/dir2/file/", True),
    ("**/dir2/**", "dir/dir2/dir3/file", True),
    ("**file", "file", True),
    ("**file", "dir/file", True),
    ("**/file", "dir/file", True),
    ("**file", "dir/dir/file", True),
    ("**/file", "dir/dir/file", True),
    ("**/file*", "dir/dir/file", True),
    ("**/file*", "dir/dir/file.txt", True),
    ("**/file*txt", "dir/dir/file.txt", True),
    ("**/file*.txt", "dir/dir/file.txt", True),
    ("**/file*.txt*", "dir/dir/file.txt", True),
    ("**/**/*.txt", "dir/dir/file.txt", True),
    ("**/**/*.txt2", "dir/dir/file.txt", False),
    ("**/*.txt", "file.txt", True),
    ("**/**/*.txt", "file.txt", True),
    ("a**/*.txt", "a/file.txt", True),
    ("a**/*.txt", "a/dir/file.txt", True),
    ("a**/*.txt", "a/dir/dir/file.txt", True),
    ("a/*.txt", "a/dir/file.txt", False),
    ("a/*.txt", "a/file.txt", True),
    ("a/*.txt**", "a/file.txt", True),
    ("a[b-d]e", "ae", False),
    ("a[b-d]e", "ace", True),
    ("a[b-d]e", "aae", False),
    ("a[^b-d]e", "aze", True),
    (".*", ".foo", True),
    (".*", "foo", False),
    ("abc.def", "abcdef", False),
    ("abc.def", "abc.def", True),
    ("abc.def", "abcZdef", False),
    ("abc?def", "abcZdef", True),
    ("abc?def", "abcdef", False),
    ("**/foo/bar", "foo/bar", True),
    ("**/foo/bar", "dir/foo/bar", True),
    ("**/foo/bar", "dir/dir2/foo/bar", True),
    ("abc/**", "abc", False),
    ("abc/**", "abc/def", True),
    ("abc/**", "abc/def/ghi", True),
    ("**/.foo", ".foo", True),
    ("**/.foo", "bar.foo", False),
    ("a(b)c/def", "a(b)c/def", True),
    ("a(b)c/def", "a(b)c/xyz", False),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", True),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    ("a\\\\", "a\\", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "ab", False),
    # filepath.Match's own cases, as docker runs them.
    ("*", "abc", True),
    ("*c", "abc", True),
    ("a*", "ab/c", True),  # the parent "ab" matches
    ("a*/b", "abc/b", True),
    ("a*/b", "a/c/b", False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True),
    ("a*b?c*x", "abxbbxdbxebxczzy", False),
    ("ab[^e-g]", "abc", True),
    ("ab[^c]", "abc", False),
    ("a?b", "a☺b", True),
    ("a???b", "a☺b", False),
    ("a?b", "a/b", False),
    ("a*b", "a/b", False),
    ("[\\]a]", "]", True),
    ("[x\\-]", "-", True),
    ("[x\\-]", "z", False),
    ("*x", "xxx", True),
    # Parents: a pattern naming a directory excludes everything in it.
    ("docs", "docs/README.md", True),
    ("docs/", "docs/README.md", True),
    ("node_modules", "src/node_modules/x", False),
    ("*/node_modules", "src/node_modules/x", True),
    # A leading slash means the context root, and patterns are cleaned.
    ("/secret", "secret", True),
    ("./a/../b", "b", True),
    ("a//b/", "a/b/c", True),
]


@pytest.mark.parametrize(("pattern", "path", "excluded"), SINGLE)
def test_single_pattern(pattern: str, path: str, excluded: bool) -> None:
    assert Matcher(read(pattern)).excluded(path) is excluded


MULTI = [
    (["**", "!util/docker/web"], "util/docker/web/foo", False),
    (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", True),
    (["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3-py3-none-any.whl", False),
    (["!fileutils.go", "*.go"], "fileutils.go", True),
    (["docs", "!docs/README.md"], "docs/README.md", False),
    (["docs/*", "!docs/README.md"], "docs/README.md", False),
    (["docs", "!docs/README.md"], "docs/other.md", True),
    (["*.go", "!fileutils.go"], "fileutils.go", False),
    (["*.md", "!README*.md", "README-secret.md"], "README-secret.md", True),
    (["*.md", "!README*.md", "README-secret.md"], "README-public.md", False),
    (["*", "!keep", "!keep/**"], "keep/deep/file", False),
    (["*", "!keep"], "other", True),
]


@pytest.mark.parametrize(("patterns", "path", "excluded"), MULTI)
def test_exceptions_and_order(patterns: list[str], path: str, excluded: bool) -> None:
    assert Matcher(patterns).excluded(path) is excluded


def test_the_context_root_is_never_excluded() -> None:
    assert Matcher(["*"]).excluded(".") is False


@pytest.mark.parametrize("pattern", ["[", "a[", "[^bc", "[]a]", "[-]", "[x-]", "\\", "[a-b-c]"])
def test_bad_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(PatternError):
        Matcher([pattern])


def test_a_lone_exclamation_mark_is_refused() -> None:
    with pytest.raises(PatternError, match="illegal exclusion"):
        Matcher(["!"])


def test_reading_a_file_follows_ignorefile() -> None:
    text = "\ufeff# comment\n  \n /abs/path \n!  /kept\n  # not a comment\nsub/../x/\n"

    assert read(text) == ["abs/path", "!kept", "# not a comment", "x"]


@pytest.mark.parametrize(
    ("path", "cleaned"),
    [("", "."), ("a/", "a"), ("/../a", "/a"), ("../../a", "../../a"), ("a/./b//c/..", "a/b")],
)
def test_clean_is_go_filepath_clean(path: str, cleaned: str) -> None:
    assert clean(path) == cleaned
