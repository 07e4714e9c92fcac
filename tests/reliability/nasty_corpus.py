"""The nasty-post corpus: every kind of bad input we know of, one line each, with what must happen.

``nasty_posts.jsonl`` is written from :data:`CASES` by ``python -m tests.reliability.nasty_corpus``;
``nasty_posts.expected`` beside it says, line by line, ``post <id> <label>`` (the line must become
an archived post with that id), ``dead - <label>`` (a dead letter with a reason) or ``skip - <label>``
(a blank line). Every post here is invented.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "nasty_posts.jsonl"
EXPECTED = HERE / "nasty_posts.expected"
T = "2026-11-20T12:00:00.000Z"


def tweet(n: int, text, **data) -> dict:
    d = {"id": f"99{n:04d}", "text": text, "author_id": f"u{n}", "created_at": T, "lang": "en"}
    d.update(data)
    return {"data": d, "includes": {"users": [{"id": f"u{n}", "username": f"nasty_user{n}"}]},
            "matching_rules": [{"id": "1", "tag": "nasty"}]}


def line(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def _cases() -> list[tuple[str, bytes, str | None]]:
    """(label, raw line, expected post id or None for a dead letter / "" for a blank line)."""
    out: list[tuple[str, bytes, str | None]] = []
    n = 0

    def good(label: str, text, **data) -> None:
        nonlocal n
        n += 1
        out.append((label, line(tweet(n, text, **data)), f"x:99{n:04d}"))

    def good_obj(label: str, obj: dict, post_id: str) -> None:
        out.append((label, line(obj), post_id))

    def bad(label: str, raw: bytes) -> None:
        out.append((label, raw, None))

    # -- posts that must be archived (and classified sanely) ------------------------------------
    good("plain report", "Huge pothole on Centre St in Jamaica Plain, almost lost a tire")
    good("empty text", "")
    good("whitespace only", " \t\n\r ")
    good("control characters", "\u0001\u0007\u001b[31mpothole\u001b[0m on Tremont \u007f\u0085 st\u0008\u0008")
    good("NUL escaped in JSON", "pothole\u0000 on Beacon St\u0000")
    good("Arabic right-to-left", "توجد حفرة كبيرة في الشارع أمام المدرسة", lang="ar")
    good("RTL override spoof", "streetlight out on \u202eeunevA ssaM\u202c near \u2067Symphony\u2069", lang="en")
    good("Hebrew", "יש בור ענק בכביש ליד התחנה", lang="he")
    good("emoji ZWJ sequences", "👩‍👩‍👧‍👦 walked past a pothole 🕳️ again 🏳️‍🌈 👍🏽 🇺🇸 on Dot Ave")
    good("emoji only", "🕳️🚗💥😡")
    good("HTML script", "<script>alert('x')</script><b>Pothole</b> on <a href='http://x.invalid'>Main St</a>")
    good("HTML entities", "&lt;p&gt;graffiti on the wall&lt;/p&gt; &amp; more &#x27;tags&#x27;")
    good("markdown", "**Pothole** on [Main St](javascript:alert(1)) `rm -rf /` > quote\n# heading\n- list")
    good("SQL injection", "'; DROP TABLE posts; -- pothole on Elm St\" OR 1=1 --")
    good("Spanish", "Hay un bache enorme en la calle Centre, por favor arreglen", lang="es")
    good("Chinese", "波士顿街道上有一个大坑", lang="zh")
    good("Japanese", "ボストンの道路に大きな穴があります", lang="ja")
    good("Russian", "На улице огромная яма", lang="ru")
    good("Hindi", "सड़क पर बड़ा गड्ढा है", lang="hi")
    good("Thai no spaces", "มีหลุมบ่อขนาดใหญ่บนถนน", lang="th")
    good("Korean", "도로에 큰 구멍이 있어요", lang="ko")
    good("zalgo", "p̷̨̛o̶͎͝t̴̰̄h̵̡̛o̷̝͑l̴͔̈e̷̛̠ on Mass Ave")
    good("zero-width only", "\u200b\u200c\u200d\u2060\ufeff")
    good("line separators and BOM inside", "pothole\u2028on\u2029Main\ufeffSt\r\nnext line")
    good("undefined language", "pothole!!!", lang="und")
    good("no language", "pothole on Boylston", lang=None)
    good("50 kB text (cut to 20,000 chars)", "pothole " * 6400)
    good("long username", "pothole on Comm Ave", author_id="longuser")
    out[-1] = (out[-1][0], line({**tweet(n, "pothole on Comm Ave"),
                                 "includes": {"users": [{"id": f"u{n}", "username": "x" * 1000}]}}), out[-1][2])
    good("long language tag", "pothole", lang="en-" + "x" * 100)
    good("geo with strings", "pothole", geo={"coordinates": {"type": "Point", "coordinates": ["a", "b"]}})
    good("geo out of range", "pothole", geo={"coordinates": {"type": "Point", "coordinates": [500, -500]}})
    good("geo of three numbers", "pothole", geo={"coordinates": {"type": "Point", "coordinates": [1, 2, 3]}})
    good("referenced_tweets not a list", "pothole", referenced_tweets=7)
    good("attachments of the wrong shape", "pothole", attachments={"media_keys": {"a": 1}})
    good("epoch seconds date", "pothole", created_at=1795000000)
    good("RFC 2822 date", "pothole", created_at="Fri, 20 Nov 2026 12:00:00 +0000")
    good("date without zone", "pothole", created_at="2026-11-20T12:00:00")
    n += 1
    good_obj("includes of wrong types", {"data": {"id": f"99{n:04d}", "text": "pothole", "created_at": T,
                                                  "author_id": ["list"]},
                                         "includes": {"users": 5, "places": "x", "media": [[]]},
                                         "matching_rules": "nope"}, f"x:99{n:04d}")
    n += 1
    good_obj("emoji and RTL in author and place", {
        "data": {"id": f"99{n:04d}", "text": "pothole here", "created_at": T, "author_id": "u",
                 "geo": {"place_id": "p1"}},
        "includes": {"users": [{"id": "u", "username": "😀\u202euser"}],
                     "places": [{"id": "p1", "full_name": "بوسطن, MA"}]}}, f"x:99{n:04d}")
    good_obj("duplicate keys (the last wins)",
             {"data": {"id": "990900", "text": "first", "created_at": T}}, "x:990900")
    out[-1] = (out[-1][0], b'{"data": {"id": "990900", "text": "first", "text": "pothole on A St", "created_at": "'
               + T.encode() + b'"}}', out[-1][2])
    good_obj("our own post format", {"id": "replay:nasty-1", "source": "replay", "text": "streetlight out <br>",
                                     "created_at": "2026-11-20T12:00:00+00:00", "author": "someone"},
             "replay:nasty-1")
    good_obj("BOM before the JSON", {"data": {"id": "990901", "text": "pothole", "created_at": T}}, "x:990901")
    out[-1] = (out[-1][0], b"\xef\xbb\xbf" + out[-1][1], out[-1][2])
    good_obj("CRLF line ending", {"data": {"id": "990902", "text": "pothole", "created_at": T}}, "x:990902")
    out[-1] = (out[-1][0], out[-1][1] + b"\r", out[-1][2])
    out.append(("blank line", b"   ", ""))

    # -- lines that must become dead letters with a reason ---------------------------------------
    bad("not JSON", b"{not json at all")
    bad("truncated JSON", b'{"data": {"id": "990950", "text": "pothole on')
    bad("JSON array", b'[{"data": {"id": "1", "text": "x"}}]')
    bad("JSON string", b'"just a string"')
    bad("JSON number", b"42")
    bad("JSON null", b"null")
    bad("JSON true", b"true")
    bad("empty object", b"{}")
    bad("unknown shape", b'{"foo": {"bar": 1}, "baz": [1, 2]}')
    bad("invalid UTF-8 bytes", b'{"data": {"id": "990951", "text": "bad \xff\xfe\xc3\x28 bytes", "created_at": "'
        + T.encode() + b'"}}')
    bad("overlong UTF-8 encoding", b'{"data": {"id": "990952", "text": "\xc0\xaf", "created_at": "' + T.encode() + b'"}}')
    bad("lone high surrogate escape", b'{"data": {"id": "990953", "text": "bad \\ud800 here", "created_at": "'
        + T.encode() + b'"}}')
    bad("lone low surrogate escape", b'{"data": {"id": "990954", "text": "\\udc00", "created_at": "' + T.encode() + b'"}}')
    bad("NaN literal", b'{"data": {"id": "990955", "text": "x", "created_at": NaN}}')
    bad("infinite number", b'{"data": {"id": "990956", "text": "x", "created_at": 1e999}}')
    bad("raw NUL byte", b'{"data": {"id": "990957", "text": "a\x00b", "created_at": "' + T.encode() + b'"}}')
    bad("raw tab inside a string", b'{"data": {"id": "990958", "text": "a\tb", "created_at": "' + T.encode() + b'"}}')
    bad("data is a string", b'{"data": "pothole"}')
    bad("data is a list", b'{"data": [1, 2]}')
    bad("missing id", line({"data": {"text": "pothole", "created_at": T}}))
    bad("empty id", line({"data": {"id": "", "text": "pothole", "created_at": T}}))
    bad("id is a number", line({"data": {"id": 990959, "text": "pothole", "created_at": T}}))
    bad("missing text", line({"data": {"id": "990960", "created_at": T}}))
    bad("text is a number", line({"data": {"id": "990961", "text": 12345, "created_at": T}}))
    bad("text is null", line({"data": {"id": "990962", "text": None, "created_at": T}}))
    bad("text is an object", line({"data": {"id": "990963", "text": {"a": 1}, "created_at": T}}))
    bad("missing date", line({"data": {"id": "990964", "text": "pothole"}}))
    bad("garbage date", line({"data": {"id": "990965", "text": "pothole", "created_at": "yesterday-ish"}}))
    bad("epoch far out of range", line({"data": {"id": "990966", "text": "pothole", "created_at": 10 ** 20}}))
    bad("date is a boolean", line({"data": {"id": "990967", "text": "pothole", "created_at": True}}))
    bad("impossible date", line({"data": {"id": "990968", "text": "pothole", "created_at": "2026-02-30T00:00:00Z"}}))
    bad("id longer than 200", line({"data": {"id": "9" * 300, "text": "pothole", "created_at": T}}))
    bad("language is a number", line({"data": {"id": "990969", "text": "pothole", "created_at": T, "lang": 5}}))
    bad("rule tag is a number", line({"data": {"id": "990970", "text": "pothole", "created_at": T},
                                      "matching_rules": [{"tag": 7}]}))
    bad("post format, naive date", line({"id": "replay:n2", "source": "replay", "text": "x",
                                         "created_at": "2026-11-20T12:00:00"}))
    bad("post format, extra field", line({"id": "replay:n3", "source": "replay", "text": "x",
                                          "created_at": "2026-11-20T12:00:00+00:00", "evil": True}))
    bad("post format, raw not an object", line({"id": "replay:n4", "source": "replay", "text": "x",
                                                "created_at": "2026-11-20T12:00:00+00:00", "raw": [1]}))
    bad("deeply nested JSON", b'{"data": ' + b'{"a": ' * 600 + b"1" + b"}" * 600 + b"}")
    bad("only a BOM", b"\xef\xbb\xbf")
    bad("binary garbage", bytes(range(1, 9)) + bytes(range(14, 32)) + b"\x80\x81\xfe\xff")
    return out


CASES = _cases()


def write() -> None:
    with CORPUS.open("wb") as fh:
        for _label, raw, _expect in CASES:
            assert b"\n" not in raw, _label
            fh.write(raw + b"\n")
    with EXPECTED.open("w", encoding="utf-8") as fh:
        for label, _raw, expect in CASES:
            kind = "skip" if expect == "" else ("post" if expect else "dead")
            fh.write(f"{kind} {expect or '-'} {label}\n")


if __name__ == "__main__":
    write()
    print(f"wrote {len(CASES)} lines to {CORPUS.relative_to(HERE.parent.parent)}")
