"""What the offline judges can read: English text, and nothing else.

Their word lists and parse approximations are English-only. A text they cannot read (empty, no
words, mostly Chinese, Japanese or Korean script, or another Latin-script language) makes the
judge abstain with a reason instead of returning 0 or inventing the missing side's features.

>>> problem("")
'is empty'
>>> problem("Three people died in the fire on Harrow Street.") is None
True
"""

from __future__ import annotations

import re

from judge.offline import lexicons as lx

# Han, kana and hangul: scripts no word list here covers.
_EAST_ASIAN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
EAST_ASIAN_SHARE = 0.3  # above this share of letters, the text is not read as English
MIN_WORDS_FOR_LANGUAGE = 8  # below this many words, too little to tell a language apart


def problem(text: str) -> str | None:
    """Why the offline judges cannot read ``text`` (a phrase to follow "the response ..."), or
    None when they can."""
    if not text.strip():
        return "is empty"
    letters = _LETTER.findall(text)
    if not letters:
        return "has no words"
    east_asian = len(_EAST_ASIAN.findall(text))
    if east_asian / len(letters) > EAST_ASIAN_SHARE:
        return "is mostly in Chinese, Japanese or Korean script"
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) >= MIN_WORDS_FOR_LANGUAGE:
        english = sum(w in lx.ENGLISH_FUNCTION_WORDS for w in words)
        other = sum(w in lx.OTHER_FUNCTION_WORDS for w in words)
        if other > english:
            counts = f"{other} Spanish, French or German function words, {english} English ones"
            return f"does not read as English ({counts})"
    return None
