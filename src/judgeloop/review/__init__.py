"""Human review: reviewer accounts, queues with overlap and race-free assignment, agreement.

Services only (no HTTP): the review UI (`judgeloop.server.routes_review`), its JSON API
(`judgeloop.server.routes_queues`) and the CLI (`judgeloop reviewer ...`, `judgeloop queue ...`) call them.
"""
