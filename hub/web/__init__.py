"""The operations centre: the hub's web UI, built from ``hub/web/src`` into ``hub/web/dist``
by ``scripts/setup.sh`` and served at ``/`` by :mod:`hub.web.routes`."""
