"""Read a note: sections and ConText with medspaCy, candidate codes per sentence, features.

Everything runs offline: spacy.blank("en") plus medspaCy's rule-based components (their rules
ship inside the package); no statistical model is downloaded.
"""

import math
import re
import threading
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from encounters.assist import semantic
from encounters.assist.candidates import Matcher, matcher_for, name_words, tokens

# medspaCy section categories that carry the coded conditions, and those that do not.
ASSESSMENT_SECTIONS = {
    "assessment_and_plan", "diagnoses", "discharge_diagnoses", "impression", "problem_list",
    "hospital_course", "chief_complaint", "history_of_present_illness", "observation_and_plan",
}  # fmt: skip
HISTORY_SECTIONS = {
    "past_medical_history", "family_history", "social_history", "past_surgical_history",
    "allergies", "medications", "review_of_systems", "sexual_and_social_history",
}  # fmt: skip

# Headers the default medspaCy rules miss (they are matched as written).
EXTRA_SECTIONS = [
    (f"{header}:", category)
    for category, headers in {
        "observation_and_plan": ["Assessment and Plan", "ASSESSMENT AND PLAN", "A/P",
                                 "Assessment & Plan", "Plan", "PLAN"],
        "diagnoses": ["Discharge Diagnosis", "DISCHARGE DIAGNOSIS", "Final Diagnoses",
                      "Final Diagnosis", "Diagnosis", "DIAGNOSIS", "Principal Diagnosis",
                      "Secondary Diagnoses", "Postoperative Diagnosis"],
    }.items()
    for header in headers
]  # fmt: skip

_nlp = None
_nlp_lock = threading.Lock()


def nlp():
    """The medspaCy pipeline, built once per process (about a second)."""
    global _nlp
    with _nlp_lock:
        if _nlp is None:
            import medspacy  # noqa: F401  (registers the medspacy_* factories)
            import spacy
            from loguru import logger
            from medspacy.section_detection import SectionRule

            logger.disable("PyRuSH")  # it logs every sentence boundary at DEBUG

            pipeline = spacy.blank("en")
            try:
                pipeline.add_pipe("medspacy_pyrush")
            except Exception:  # PyRuSH is compiled; fall back to spaCy's rule sentencizer
                pipeline.add_pipe("sentencizer")
            sectionizer = pipeline.add_pipe("medspacy_sectionizer", config={"rules": "default"})
            sectionizer.add(
                [SectionRule(literal, category) for literal, category in EXTRA_SECTIONS]
            )
            pipeline.add_pipe(
                "medspacy_context",
                config={"input_span_type": "group", "span_group_name": "assist"},
            )
            _nlp = pipeline
    return _nlp


@dataclass
class Mention:
    start: int
    end: int
    text: str
    section: str
    matched: list[str]
    name_size: int
    idf: float
    is_title: bool
    negated: bool = False
    uncertain: bool = False
    family: bool = False
    historical: bool = False
    subsumed: bool = False
    coverage: float = 1.0  # share of the name's words found in the sentence
    source: str = "code"  # the code's own title or terms, or the index table that named it
    compact: float = 1.0  # matched words / words from the first matched word to the last
    learned: float = 0.0  # for a word learned from CodiEsp train: its share of notes coded so
    semantic: float = 0.0  # for a sentence close in meaning to the code's title: the cosine
    sentence: int = -1  # the sentence's number in the note


@dataclass
class Candidate:
    system: str
    code: str
    description: str
    vague: bool = False
    mentions: list[Mention] = field(default_factory=list)
    semantic: float = 0.0  # the title's best cosine with a sentence that mentions the code

    @property
    def active_mentions(self) -> list[Mention]:
        """Mentions of a condition the patient has: not negated, not a relative's, not a
        "rule out" (uncertain diagnoses are not coded as if confirmed)."""
        return [m for m in self.mentions if not (m.negated or m.family or m.uncertain)]

    @property
    def negated(self) -> bool:
        """Every mention negated or about a relative: not an active condition of the patient."""
        return not self.active_mentions


def _only_episode_added(header: str, child: str) -> bool:
    """T39.1X1 -> T39.1X1A: the 7th character (initial encounter, from the encounter
    context) and its placeholder X are all the child adds: specific, not vague."""
    extra = child[len(header) :]
    return child.startswith(header) and extra[-1:] == "A" and set(extra[:-1]) <= {"X"}


def _billable(matcher: Matcher, idx: int) -> tuple[str, str, bool] | None:
    """(code, description, vague) for an entry: itself when billable, else the unspecified
    (or first) billable code under the header, flagged as too vague to be specific unless
    only the 7th character for an initial encounter was missing."""
    code, display, description, billable, *_rest = matcher.index.entries[idx]
    if billable:
        return display, description, False
    children = [
        matcher.index.entries[i]
        for i in matcher.index.search_code(code, 60)
        if matcher.index.entries[i][3] and matcher.index.entries[i][0] != code
    ]
    if not children:
        return None
    # The child that adds least to the header's words: "E11" -> E11.9, not E11.311.
    chosen = min(
        children,
        key=lambda c: (len(name_words(c[2])), "unspecified" not in c[2].lower(), c[0]),
    )
    return chosen[1], chosen[2], not _only_episode_added(code, chosen[0])


def analyse(
    text: str,
    *,
    on: date | None = None,
    system: str = "icd10cm",
    lexicon=None,
    semantic_on: bool = True,
) -> list[Candidate]:
    """Candidate codes of the release in force on `on`, with their mentions and ConText;
    `lexicon` (encounters.assist.lexicon) adds the codes words learned from training name;
    semantic retrieval (encounters.assist.semantic, when installed) the codes whose titles a
    sentence says in other words."""
    from spacy.tokens import SpanGroup

    matcher = matcher_for(system, on)
    pipeline = nlp()
    doc = pipeline.make_doc(text)
    for name, pipe in pipeline.pipeline:
        if name != "medspacy_context":
            doc = pipe(doc)
    found: list[tuple[int, Mention]] = []
    # Section titles ("History of present illness:") are not findings.
    titles = [
        (doc[s.title_start : s.title_end].start_char, doc[s.title_start : s.title_end].end_char)
        for s in doc._.sections
        if s.title_end > s.title_start
    ]
    sentences: list[tuple[int, int, str]] = []  # (start, end, section) of each sentence
    for sentence in doc.sents:
        first_found = len(found)
        section = "unknown"
        first = sentence[0]
        if first._.section_category:
            section = first._.section_category
        offset = sentence.start_char
        words_here = [
            t for t in tokens(sentence.text, offset) if not any(a <= t.start < b for a, b in titles)
        ]
        matches = matcher.match(words_here)
        # Specificity: a code whose matched words are a strict subset of another code's
        # in the same category and sentence is the less specific reading ("type 2 diabetes"
        # under "type 2 diabetes with diabetic polyneuropathy": E11.9 under E11.42).
        matched_sets = [
            (matcher.index.entries[n.entry][0][:3], frozenset((t.start, t.stem) for t in ts))
            for n, ts in matches
        ]
        for (name, matched_tokens), (category, mine) in zip(matches, matched_sets, strict=True):
            start = min(t.start for t in matched_tokens)
            end = max(t.end for t in matched_tokens)
            positions = [t.position for t in matched_tokens]
            found.append(
                (
                    name.entry,
                    Mention(
                        start=start,
                        end=end,
                        text=text[start:end],
                        section=section,
                        matched=sorted({text[t.start : t.end] for t in matched_tokens}),
                        name_size=len(name.words),
                        idf=sum(matcher.idf(w) for w in name.words),
                        is_title=name.is_title,
                        subsumed=any(mine < other for c, other in matched_sets if c == category),
                        coverage=len(matched_tokens) / len(name.words),
                        source=name.source,
                        compact=len(set(positions)) / (max(positions) - min(positions) + 1),
                    ),
                )
            )
        if lexicon is not None and system == "icd10cm":
            # A word already part of a name matched here speaks for that name's code only:
            # "failure" of "heart failure" is no evidence of kidney failure.
            named: dict[int, set[int]] = {}
            for name, matched_tokens in matches:
                for t in matched_tokens:
                    named.setdefault(t.start, set()).add(name.entry)
            found.extend(_learned(matcher, lexicon, words_here, text, section, named))
        for _idx, mention in found[first_found:]:
            mention.sentence = len(sentences)
        sentences.append((offset, sentence.end_char, section))
    similarity = None
    if system == "icd10cm" and semantic_on and semantic.enabled():
        similarity = _semantic(matcher, text, sentences, found)
    # ConText on the matched spans (a span group: they may overlap).
    spans = {}
    for _idx, mention in found:
        key = _context_target(mention, text)
        if key not in spans:
            span = doc.char_span(*key, alignment_mode="expand")
            if span is not None:
                spans[key] = span
    doc.spans["assist"] = SpanGroup(doc, name="assist", spans=list(spans.values()))
    doc = pipeline.get_pipe("medspacy_context")(doc)
    context = {(s.start_char, s.end_char): s for s in doc.spans["assist"]}  # expanded offsets
    candidates: dict[str, Candidate] = {}
    resolved: dict[int, tuple[str, str, bool] | None] = {}
    for idx, mention in found:
        span = spans.get(_context_target(mention, text))
        if span is not None:
            span = context.get((span.start_char, span.end_char), span)
            mention.negated = bool(span._.is_negated)
            mention.uncertain = bool(span._.is_uncertain or span._.is_hypothetical)
            mention.family = bool(span._.is_family)
            mention.historical = bool(span._.is_historical)
        if mention.section == "family_history":
            mention.family = True
        if idx not in resolved:
            resolved[idx] = _billable(matcher, idx)
        target = resolved[idx]
        if target is None:
            continue
        code, description, vague = target
        candidate = candidates.setdefault(code, Candidate(system, code, description, vague))
        candidate.vague = candidate.vague and vague
        candidate.mentions.append(mention)
    if similarity is not None:
        titles, sims, rows = similarity
        for candidate in candidates.values():
            column = titles.row.get(candidate.code.replace(".", ""))
            if column is None:
                continue
            candidate.semantic = max(
                (
                    float(sims[rows[m.sentence], column])
                    for m in candidate.active_mentions or candidate.mentions
                    if m.sentence in rows
                ),
                default=0.0,
            )
    return list(candidates.values())


_LAST_WORD = re.compile(r"[A-Za-z0-9]+(?=[^A-Za-z0-9]*$)")


def _context_target(mention: Mention, text: str) -> tuple[int, int]:
    """The characters ConText judges: the mention's own words, or for a whole sentence
    found by meaning its last word (a sentence holds its own "No ...": ConText reads a
    modifier inside the span as no modifier of it)."""
    if mention.source != "semantic":
        return mention.start, mention.end
    last = _LAST_WORD.search(text, mention.start, mention.end)
    return (last.start(), last.end()) if last else (mention.start, mention.end)


def _semantic(matcher: Matcher, text: str, sentences, found):
    """Mentions of the codes whose titles a sentence is closest to in meaning (the whole
    sentence is the quote; ConText then reads it like any other mention), and the
    similarities for the ranking feature: (titles, sentence x title cosines, {sentence
    number: row}); None when there is nothing to compare."""
    from encounters.assist import ranking

    titles = semantic.titles_for(matcher, matcher.release_key, ranking.load_model()["priors"])
    if titles is None or not sentences:
        return None
    sims, chosen = semantic.sentence_hits(
        [text[a:b] for a, b, _s in sentences],
        titles,
        [section in ASSESSMENT_SECTIONS for _a, _b, section in sentences],
    )
    rows = {number: row for row, number in enumerate(chosen)}
    for number, row in rows.items():
        start, end, section = sentences[number]
        quote = text[start:end]
        start += len(quote) - len(quote.lstrip())
        end -= len(quote) - len(quote.rstrip())
        best = np.argsort(-sims[row])[: semantic.TOP_K]
        for column in best:
            score = float(sims[row, column])
            if score < semantic.MIN_SIMILARITY:
                break
            found.append(
                (
                    titles.entries[column],
                    Mention(
                        start=start,
                        end=end,
                        text=text[start:end],
                        section=section,
                        matched=[],
                        name_size=1,
                        idf=0.0,
                        is_title=False,
                        source="semantic",
                        semantic=score,
                        sentence=number,
                    ),
                )
            )
    return titles, sims, rows


def _learned(matcher: Matcher, lexicon, words_here, text: str, section: str, named):
    """Mentions of the codes that the sentence's words point at (only codes of the release
    in force: a code the release does not hold is never named)."""
    for token in words_here:
        for code, share in lexicon.codes_for(token.stem):
            entry = matcher.code_entries.get(code)
            if entry is None or (token.start in named and entry not in named[token.start]):
                continue
            yield (
                entry,
                Mention(
                    start=token.start,
                    end=token.end,
                    text=text[token.start : token.end],
                    section=section,
                    matched=[text[token.start : token.end]],
                    name_size=1,
                    idf=matcher.idf(token.stem),
                    is_title=False,
                    coverage=1.0,
                    source="learned",
                    learned=share,
                ),
            )


def features(candidate: Candidate, priors: dict[str, float] | None = None) -> dict[str, float]:
    """The ranking signals of one candidate (names are the keys of weights.json)."""
    mentions = candidate.mentions
    active = candidate.active_mentions or mentions
    named = [m for m in active if m.source not in ("learned", "semantic")]
    best = max(named or active, key=lambda m: (m.coverage, m.name_size, m.idf))
    priors = priors or {}
    return {
        "learned": max((m.learned for m in mentions), default=0.0),
        "learned_words": math.log1p(len({m.text.lower() for m in mentions if m.learned})),
        "learned_only": float(not any(m.source != "learned" for m in mentions)),
        "semantic": candidate.semantic,
        "semantic_only": float(all(m.source == "semantic" for m in mentions)),
        "table": float(best.source != "code"),
        "compact": best.compact,
        "bias": 1.0,
        "partial": float(best.coverage < 1.0),
        "name_words": min(best.name_size, 6) / 6,
        "idf": min(best.idf, 40.0) / 40,
        "title": float(any(m.is_title for m in active)),
        "mentions": math.log1p(len(mentions)),
        "assessment": float(any(m.section in ASSESSMENT_SECTIONS for m in active)),
        "history": float(all(m.section in HISTORY_SECTIONS for m in active)),
        "negated": float(all(m.negated for m in mentions)),
        "uncertain": float(all(m.uncertain for m in active)),
        "family": float(all(m.family for m in mentions)),
        "historical": float(all(m.historical for m in active)),
        "subsumed": float(all(m.subsumed for m in active)),
        "vague": float(candidate.vague),
        "other": float(candidate.description.lower().startswith("other")),
        "injury": float(candidate.code[:1] in "ST"),
        "prior": priors.get(candidate.code, 0.0),
        "prior3": priors.get(candidate.code[:3], 0.0),
    }


def prefer_specific(scored: list[tuple[Candidate, float]]) -> list[tuple[Candidate, float]]:
    """The most specific billable code the text supports ranks first: a candidate whose
    every active mention is subsumed (its matched words are a strict subset of another
    code's in the same category, on the same words) is kept, but just below the best of
    those more specific codes ("type 2 diabetes with diabetic polyneuropathy": E11.42,
    then E11.9)."""
    by_category: dict[str, list[tuple[Candidate, float]]] = {}
    for candidate, confidence in scored:
        by_category.setdefault(candidate.code[:3], []).append((candidate, confidence))
    out = []
    for candidate, confidence in scored:
        # Words learned from training say nothing about specificity: only named mentions.
        active = [m for m in candidate.active_mentions if m.source not in ("learned", "semantic")]
        if active and all(m.subsumed for m in active):
            # Wider readings are those of the longest quote: "type 2 diabetes" in "type 2
            # diabetes with diabetic polyneuropathy", not a sibling sharing its "diabetes".
            longest = max(active, key=lambda m: m.end - m.start)
            spans = [(longest.start, longest.end)]
            wider = [
                other_confidence
                for other, other_confidence in by_category[candidate.code[:3]]
                if other is not candidate
                and any(
                    m.start <= a and b <= m.end and (m.end - m.start) > (b - a)
                    for m in other.active_mentions
                    if m.source != "semantic"
                    for a, b in spans
                )
            ]
            if wider and max(wider) <= confidence:
                confidence = max(wider) * 0.95
        out.append((candidate, confidence))
    return out
