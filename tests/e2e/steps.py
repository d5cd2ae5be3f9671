"""Steps the browser tests share: sign in, add a code from the keyboard, select text."""

import re

from tests.conftest import PASSWORD


def sign_in(page, base, user, lands_on: str = r"/encounters/queue/"):
    page.goto(f"{base}/sign-in/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(lands_on))


def add_code(page, key, text, code):
    """Focus the entry box with its shortcut, type, arrow to `code` in the results, Enter."""
    page.locator("body").press("Escape")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press(key)
    box = page.locator("#dx-q" if key == "d" else "#px-q")
    assert box.evaluate("el => el === document.activeElement")
    page.keyboard.type(text, delay=15)
    rows = page.locator(f"#{'dx' if key == 'd' else 'px'}-results tr[data-hit]")
    rows.first.wait_for()
    page.wait_for_function(
        "([sel, q]) => document.querySelector(sel)?.getAttribute('data-query') === q",
        arg=[f"#{'dx' if key == 'd' else 'px'}-results table[data-hits]", text],
    )
    codes = rows.evaluate_all("rows => rows.map(r => r.getAttribute('data-code'))")
    assert code in codes, codes
    for _ in range(codes.index(code) + 1):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.locator(f'#dx-list li[data-code="{code}"], #px-list li[data-code="{code}"]').wait_for()
    page.wait_for_function("() => document.getElementById('dx-q').value === ''")


def select_text(page, passage):
    """Drag the mouse across `passage` in the open document, as a coder would."""
    boxes = page.evaluate(
        """(passage) => {
          const el = document.querySelector('.doc-panel:not([hidden]) [data-doc-text]');
          const node = el.firstChild;
          const at = node.data.indexOf(passage);
          const range = document.createRange();
          range.setStart(node, at);
          range.setEnd(node, at + passage.length);
          const rects = Array.from(range.getClientRects());
          const first = rects[0], last = rects[rects.length - 1];
          return {x1: first.left + 1, y1: first.top + first.height / 2,
                  x2: last.right - 1, y2: last.top + last.height / 2};
        }""",
        passage,
    )
    page.mouse.move(boxes["x1"], boxes["y1"])
    page.mouse.down()
    page.mouse.move(boxes["x2"], boxes["y2"], steps=8)
    page.mouse.up()


def sign_out(page, base):
    page.context.clear_cookies()
