"""The web sender's name mark: the TV shows the plain name with a "Browser" badge."""

from castapp.session.room import BROWSER_MARK, split_browser_mark


def test_the_mark_is_split_off() -> None:
    assert split_browser_mark("Grace" + BROWSER_MARK) == ("Grace", True)
    assert split_browser_mark(BROWSER_MARK) == ("Guest", True)
    assert split_browser_mark("Grace") == ("Grace", False)
    assert split_browser_mark("Grace (browser) x") == ("Grace (browser) x", False)


def test_the_pages_use_the_same_mark() -> None:
    from importlib import resources

    js = resources.files("castapp.web").joinpath("sender.js").read_text()
    assert f'const BROWSER_MARK = "{BROWSER_MARK}";' in js
