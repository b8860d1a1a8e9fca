"""Suggested public replies, in the language of the mention.

The defaults follow what works in public: thank, acknowledge the trouble without arguing whether
the complaint is justified, and say what the company will do and how to reach it. A reply answers
one person; a statement answers an incident (many people, same problem). Brands override both per
language in ``alerts.replies`` / ``alerts.statements``, and ``alerts.reply_contact`` says how
customers reach them (e.g. "an email at support@example.com").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.config import REPLY_FIELDS, BrandAlerts

REPLIES = {
    "en": "Hello, thank you for telling us, and we're sorry for the trouble this is causing you. "
    "We want to put it right: please send us {contact} with your details and we will look into "
    "it today.",
    "fr": "Bonjour, merci de nous l'avoir signalé, et désolés pour le désagrément. Nous voulons "
    "arranger cela : envoyez-nous {contact} avec vos coordonnées et nous examinerons votre "
    "dossier dès aujourd'hui.",
    "nl": "Hallo, bedankt om dit te melden, en sorry voor het ongemak. We lossen dit graag voor je "
    "op: stuur ons {contact} met je gegevens en we bekijken het vandaag nog.",
    "de": "Hallo, danke, dass Sie uns darauf aufmerksam machen, und entschuldigen Sie die "
    "Unannehmlichkeiten. Wir möchten das für Sie klären: Schicken Sie uns bitte {contact} mit "
    "Ihren Angaben, dann kümmern wir uns noch heute darum.",
    "es": "Hola, gracias por contárnoslo y sentimos las molestias. Queremos solucionarlo: "
    "envíanos {contact} con tus datos y lo revisaremos hoy mismo.",
    "it": "Ciao, grazie per la segnalazione e ci scusiamo per il disagio. Vogliamo risolvere: "
    "inviaci {contact} con i tuoi dati e verificheremo oggi stesso.",
    "pt": "Olá, obrigado por nos avisar e lamentamos o incómodo. Queremos resolver a situação: "
    "envie-nos {contact} com os seus dados e vamos analisar ainda hoje.",
}

STATEMENTS = {
    "en": "We know that many of you are affected by this problem, and we're sorry. Our team is "
    "working on it now and we will post an update here as soon as we know more. If you are "
    "affected, send us {contact} and we will make sure your case is handled.",
    "fr": "Nous savons que beaucoup d'entre vous sont touchés par ce problème et nous en sommes "
    "désolés. Notre équipe s'en occupe dès maintenant et nous publierons une mise à jour ici dès "
    "que nous en saurons plus. Si vous êtes concerné, envoyez-nous {contact} et nous veillerons "
    "à ce que votre dossier soit traité.",
    "nl": "We weten dat veel mensen door dit probleem getroffen zijn, en dat spijt ons. Ons team "
    "werkt er nu aan en we plaatsen hier een update zodra we meer weten. Ben je getroffen? Stuur "
    "ons {contact} en we zorgen dat je dossier behandeld wordt.",
    "de": "Wir wissen, dass viele von Ihnen von diesem Problem betroffen sind, und das tut uns "
    "leid. Unser Team arbeitet bereits daran, und wir melden uns hier mit einem Update, sobald "
    "wir mehr wissen. Wenn Sie betroffen sind, schicken Sie uns {contact}, damit wir uns um Ihren "
    "Fall kümmern.",
    "es": "Sabemos que este problema está afectando a muchas personas y lo sentimos. Nuestro "
    "equipo ya está trabajando en ello y publicaremos una actualización aquí en cuanto sepamos "
    "más. Si te afecta, envíanos {contact} y nos aseguraremos de que tu caso se resuelva.",
    "it": "Sappiamo che molti di voi sono coinvolti in questo problema e ci dispiace. Il nostro "
    "team ci sta già lavorando e pubblicheremo un aggiornamento qui appena ne sapremo di più. Se "
    "sei tra le persone coinvolte, inviaci {contact} e ci assicureremo che il tuo caso venga "
    "gestito.",
    "pt": "Sabemos que este problema está a afetar muitas pessoas e lamentamos. A nossa equipa "
    "já está a tratar do assunto e publicaremos aqui uma atualização assim que soubermos mais. "
    "Se foi afetado, envie-nos {contact} e garantimos que o seu caso é tratado.",
}

CONTACTS = {
    "en": "a direct message",
    "fr": "un message privé",
    "nl": "een privébericht",
    "de": "eine Direktnachricht",
    "es": "un mensaje privado",
    "it": "un messaggio privato",
    "pt": "uma mensagem privada",
}

_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.!?])")
STATEMENT_SHARE = 0.2
"""A language holding this share of an incident's mentions gets a statement of its own."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A suggestion to adapt and post; ``language`` is the one actually used."""

    language: str
    text: str
    kind: str  # "reply" (one person) or "statement" (an incident)


def base_language(code: str | None) -> str:
    """``fr-BE`` → ``fr``; empty for unknown."""
    return (code or "").replace("_", "-").split("-")[0].strip().lower()


def statement_languages(counts: Mapping[str, Any], share: float = STATEMENT_SHARE) -> list[str]:
    """The languages holding at least ``share`` of the mentions, most spoken first: an incident
    in Brussels gets its statement in French and in Dutch."""
    merged: Counter[str] = Counter()
    total = 0
    for code, count in counts.items():
        number = int(count) if isinstance(count, int | float) else 0
        total += number
        base = base_language(code)
        if base and base not in ("?", "und"):
            merged[base] += number
    return [lang for lang, n in merged.most_common() if total and n >= share * total]


def _pick(candidates: list[str], known: set[str]) -> str:
    return next((c for c in candidates if c in known), "en")


def suggest(
    rules: BrandAlerts,
    brand: str,
    language: str | None,
    *,
    statement: bool = False,
    author: str | None = None,
    fallbacks: list[str] | None = None,
) -> Reply:
    """The reply (or incident statement) in the mention's language, else the brand's first."""
    own = rules.statements if statement else rules.replies
    defaults = STATEMENTS if statement else REPLIES
    candidates = [base_language(c) for c in [language, *(fallbacks or [])]]
    lang = _pick(candidates, set(own) | set(defaults))
    template = own.get(lang) or defaults[lang]
    contact = rules.reply_contact.get(lang) or CONTACTS.get(lang) or CONTACTS["en"]
    values = dict.fromkeys(REPLY_FIELDS, "")
    values.update(brand=brand, author=(author or "").strip(), contact=contact)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", template.format_map(values))
    return Reply(lang, " ".join(text.split()), "statement" if statement else "reply")
