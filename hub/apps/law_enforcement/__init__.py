"""Law-enforcement supervision (执法监督): the law-enforcement system's cases linked to firms
(by credit code, else normalised name), places and service cases; deadlines, overdue and
closed-late cases; anomaly flags (a firm inspected repeatedly with no finding, a case closed
without evidence); figures by enforcing department."""

from hub.apps import App
from hub.apps.law_enforcement.resolvers import APP_NAME, LawEnforcementQueries
from hub.apps.law_enforcement.services import services

APP = App(name=APP_NAME, query=LawEnforcementQueries, services=services)
