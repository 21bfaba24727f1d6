"""Every flow the bot offers, in the order `help` lists them."""

from __future__ import annotations

from bot.flow import Flow

from flows.checkin import CheckInRounds, ImpactAnswer
from flows.coordinator import Coordinators
from flows.dashboard import Dashboard
from flows.digest import Digests
from flows.experiment import StartSmall
from flows.frame import Framing
from flows.invite import Invites
from flows.join import Join
from flows.language import Language
from flows.members import Leadership, Members
from flows.privacy import Forget, MyData
from flows.reflect import Reflect
from flows.schedule import Schedules
from flows.status import Status
from flows.story import AmbassadorStory
from flows.strengths import Strengths
from flows.web import WebLink


def all_flows() -> list[Flow]:
    return [Join(), Strengths(), Framing(), StartSmall(), CheckInRounds(), ImpactAnswer(), Reflect(), AmbassadorStory(), Status(),
            Digests(), Dashboard(), Schedules(), Invites(), WebLink(), Members(), Leadership(), Coordinators(),
            Language(), MyData(), Forget()]
