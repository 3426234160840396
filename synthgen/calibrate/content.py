"""Fits of message content and media: lengths, captions, the media mix, sizes and MIME types."""

from __future__ import annotations

import math

from synthgen.calibrate import fit
from synthgen.calibrate.section import Section, TooLittleData, ordered, shares, sig, tv
from synthgen.contract import MEDIA_KINDS


def content(s: Section) -> None:
    """Text lengths and captions: rounded, capped log-normals and the caption share."""
    c = s.spec["content"]
    low, high = int(c["min_length"]), int(c["max_length"])
    body = fit.fit_lognormal_int(ordered(s, "content_length"), low, high)
    if not body.usable(2):
        raise TooLittleData("too few published buckets of content length")
    s.set(
        "content.length_lognormal",
        {"mu": sig(body.params[0], 4), "sigma": sig(body.params[1], 4)},
        "KS",
        body.ks,
        body.n,
    )
    captions = s.m.categorical("captions")
    if sum(captions.values()) > 0:
        share = captions.get("caption", 0.0) / sum(captions.values())
        s.set("content.caption_share", sig(share, 4), "exact", None, sum(captions.values()))
    caption = ordered(s, "caption_length")
    cap = fit.fit_lognormal_int(caption, low, high) if caption.total else None
    if cap is not None and cap.usable(2):
        s.set(
            "content.caption_length_lognormal",
            {"mu": sig(cap.params[0], 4), "sigma": sig(cap.params[1], 4)},
            "KS",
            cap.ks,
            cap.n,
        )


def media(s: Section) -> None:
    """Media ratio, kind mix, and per kind the size log-normal and the MIME types."""
    types = s.m.categorical("message_types")
    total = sum(types.get(k, 0.0) for k in ("TEXT", *MEDIA_KINDS))
    media_total = sum(types.get(k, 0.0) for k in MEDIA_KINDS)
    if total <= 0:
        raise TooLittleData("no published text or media messages")
    s.set("media.ratio", sig(media_total / total, 4), "exact", None, total)
    if media_total <= 0:
        s.keep("media.mix", "no media message published (the ratio is 0)")
        return
    mix = shares(types, MEDIA_KINDS, "media messages")
    s.set("media.mix", mix, "TV", tv({k: types.get(k, 0.0) for k in MEDIA_KINDS}, mix), media_total)
    for kind in MEDIA_KINDS:
        sizes = ordered(s, f"attachment_size.{kind}")
        f = fit.fit_lognormal_int(sizes, 1, math.inf) if sizes.total else None
        if f is not None and f.usable(2):
            s.set(
                f"media.attachments.{kind}.size_lognormal",
                {"mu": sig(f.params[0], 4), "sigma": sig(f.params[1], 4)},
                "KS",
                f.ks,
                f.n,
            )
        mimes = s.m.categorical(f"mime_types.{kind}")
        named = tuple(sorted(m for m in mimes if m != "other" and mimes[m] > 0))
        if named:
            mime_shares = shares(mimes, named)
            s.set(
                f"media.attachments.{kind}.mime_types",
                mime_shares,
                "TV",
                tv(mimes, mime_shares),
                sum(mimes.values()),
                "'other' MIME types folded into the named ones",
            )
        else:
            s.keep(f"media.attachments.{kind}.mime_types", "no known MIME type published")
