"""Economy one-map (经济一张图): firms on the map by industry, park and size; output, revenue,
tax and employment by grid cell, park and industry from the statistics bureau's indicators;
trends by period."""

from hub.apps import App
from hub.apps.economy.resolvers import APP_NAME, EconomyQueries
from hub.apps.economy.services import services

APP = App(name=APP_NAME, query=EconomyQueries, services=services)
