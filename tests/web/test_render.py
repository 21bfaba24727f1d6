"""The web renderer: the chat's Markdown subset as HTML (escaped first), every kind of
question as an accessible form, replies stored as JSON and drawn again, form posts back into
answers the engine validates."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from multidict import MultiDict

from adapters.web import codec, render
from bot.types import ActionRef
from bot.ui import Ask, Button, Buttons, Context, Divider, Field, Kind, Option, Question, Reply, Section, Text

ASK = Ask(
    Question("Share a *story*", (
        Field("title", "Title", Kind.TEXT, max_length=60),
        Field("story", "What happened?", Kind.LONG_TEXT, hint="A few sentences"),
        Field("consent", "Who may see it?", Kind.CHOICE, options=(Option("coalition", "My coalition"), Option("public", "Public"))),
        Field("principles", "Which principles?", Kind.MULTI_CHOICE, required=False,
              options=(Option("1", "New pathways"), Option("7", "Share knowledge"))),
        Field("rating", "How much?", Kind.SCALE, scale_labels=("not at all", "very much")),
        Field("when", "Since when?", Kind.DATE, required=False),
    ), intro=(Context("Your words matter."),)),
    ActionRef("story", "write", 3),
    errors={"title": "This one needs an answer."},
)


def html_of(ask: Ask, given=None, click=None) -> str:
    env = render.environment(event=lambda: "0" * 32)
    template = env.from_string('{% from "_macros.html" import ask_form %}{{ ask_form(ask, "tok", given, click, t) }}')
    return template.render(ask=ask, given=given or {}, click=click, t=lambda key, **v: key)


def test_markup_escapes_first_then_styles():
    html = str(render.markup("*bold* _it_ `a*b*c` <script>alert(1)</script> & https://x.org/a?b=1&c=2.\n- one\n- <two>"))
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html
    assert "<code>a*b*c</code>" in html  # nothing styled inside code
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<a href="https://x.org/a?b=1&amp;c=2"' in html  # the full stop is not part of the link
    assert "<ul><li>one</li><li>&lt;two&gt;</li></ul>" in html


def test_markup_drawn_again_is_the_same_and_never_mixes_text_with_markup():
    from markupsafe import Markup

    typed = "<b>*hi*</b>"
    first = str(render.markup(typed))
    assert str(render.markup(typed)) == first == "&lt;b&gt;<strong>hi</strong>&lt;/b&gt;"
    # Markup equals the same str, but is drawn as given, and a str is never drawn as markup.
    assert str(render.markup(Markup(typed))) == "<b><strong>hi</strong></b>"
    assert str(render.markup(typed)) == first


def test_form_nonces_are_fresh_event_ids():
    drawn = {render.nonce() for _ in range(10_000)}
    assert len(drawn) == 10_000 and all(re.fullmatch(r"[0-9a-f]{32}", n) for n in drawn)


def test_a_kept_message_is_drawn_again_when_it_changes_in_place_or_in_another_language():
    kept = render.Kept(size=2)
    words = {"en": lambda key, **v: {"bot": "Bot"}.get(key, key), "da": lambda key, **v: {"bot": "Botten"}.get(key, key)}

    def draw(body, language="en"):
        item = kept.item(7, "bot", body, language, {})
        return str(kept.entry(item, False, "tok", words[language]))

    body = codec.dump(Reply(blocks=(Text("sent 1/2"), Buttons((Button("Open", "checkin open"),)))))
    first = draw(body)
    assert "sent 1/2" in first and "Bot:" in first and 'value="tok"' in first
    assert draw(dict(body)) != first  # the same message: fresh event ids only
    assert re.sub(r'name="event" value="\w+"', "", draw(body)) == re.sub(r'name="event" value="\w+"', "", first)
    assert "Botten:" in draw(body, "da")
    changed = codec.dump(Reply(blocks=(Text("sent 2/2 · 1 answered ✓"),)))
    assert "sent 2/2 · 1 answered ✓" in draw(changed) and "sent 1/2" not in draw(changed)
    assert render.EVENT not in draw(changed) + first


def test_markup_keeps_emoji_and_rtl_text_as_typed():
    text = "مرحبا 🙂 \u202eevil"
    assert str(render.markup(text)) == text


def test_a_link_is_only_ever_http():
    html = str(render.markup('javascript:alert(1) https://ok.org/"onmouseover="x'))
    assert 'href="javascript' not in html
    assert '"onmouseover' not in html  # the quote stays an entity inside the attribute


def test_every_input_has_a_label_and_groups_have_a_legend():
    html = html_of(ASK)
    for field in ("title", "story", "when"):
        assert re.search(rf'<label for="q-{field}">', html), field
        assert f'id="q-{field}"' in html
    assert html.count("<fieldset") == 3 and html.count("<legend>") == 3  # choice, multi-choice, scale
    assert 'type="radio" name="f-consent" value="public"' in html
    assert 'type="checkbox" name="f-principles" value="7"' in html
    assert 'type="date" name="f-when"' in html
    assert '<textarea id="q-story" name="f-story"' in html and 'maxlength="60"' in html
    assert "1 = not at all … 5 = very much" in html
    assert 'name="action" value="story:write:3"' in html and 'name="csrf" value="tok"' in html


def test_an_error_is_tied_to_its_field():
    html = html_of(ASK)
    assert 'id="q-title-error"' in html and "This one needs an answer." in html
    tag = re.search(r'<input id="q-title"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in tag and "q-title-error" in tag


def test_what_the_member_typed_is_drawn_back_escaped():
    html = html_of(ASK, given={"title": '"><script>x</script>', "consent": "public", "principles": ["7"]})
    assert 'value="&#34;&gt;&lt;script&gt;x&lt;/script&gt;"' in html
    assert re.search(r'value="public" checked', html) and re.search(r'value="7" checked', html)


def test_one_choice_is_answered_with_one_button_each():
    ask = Ask(Question("Rate it", (Field("r", "How much?", Kind.SCALE),)), ActionRef("impact", "rate", 1))
    click = render.one_click(ask)
    html = html_of(ask, click=click)
    assert [m for m in re.findall(r'<button type="submit" name="f-r" value="(\d)">', html)] == list("12345")
    assert render.one_click(ASK) is None


def test_a_form_post_becomes_the_values_the_engine_parses():
    form = MultiDict([("f-title", "Hi"), ("f-principles", "1"), ("f-principles", "7"), ("f-consent", "public")])
    values = render.values(ASK, form)
    assert values["title"] == "Hi" and values["principles"] == ["1", "7"] and values["when"] == ""
    assert render.answered(ASK, values)[:2] == [("Title", "Hi"), ("Who may see it?", "Public")]


@pytest.mark.parametrize("reply", [
    Reply(blocks=(Text("hi *there*"), Section("s", (("a", "b"),)), Context("c"), Divider(),
                  Buttons((Button("Go", "story", primary=True),))), chrome={"submit": "Send"}),
    Reply(ask=replace(ASK, chrome={"submit": "Indsend"}), chrome={"submit": "Indsend"}),
])
def test_replies_survive_the_database(reply):
    assert "chrome" not in str(codec.dump(reply))  # drawn in the member's language of the day
    assert codec.load(codec.dump(reply), reply.chrome) == reply


def test_an_invites_qr_code_is_drawn_under_its_link_from_this_server():
    link = "https://cocreate.example.org/join/" + "a" * 43
    html = str(render.markup(f"Invite: {link}\nQR: {link}/qr.svg", qr="QR code"))
    assert f'<img class="qr" src="/join/{"a" * 43}/qr.svg" alt="QR code"' in html
    assert html.count("<img") == 1  # the join link itself is only a link
    assert "<img" not in str(render.markup(f"QR: {link}/qr.svg"))  # only where the page asks for it
    assert "<img" not in str(render.markup("https://evil.example/x/qr.svg", qr="QR code"))
