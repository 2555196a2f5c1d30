"""Realtime pushes over API Gateway's WebSocket API (the seed's Socket.IO events).

A browser asks the API for a short-lived single-use ticket (POST /api/realtime/ticket), connects to
the WebSocket URL with it (a session token in a query string would end up in access logs), and then
receives `{type, data, at}` events: game.ended, balance.changed, deposit.seen, deposit.credited,
faucet.credited, withdrawal.completed.

- `pushes`: after a commit, the domain's events become push messages, sent to the events queue after
  the response (never on the request path).
- `notifier`: the function fed by that queue posts each message to the user's connections through
  the @connections management API and forgets the ones that are gone.
- `store`: tickets and connections, in DynamoDB with expiry (the notifier runs outside the VPC, where
  neither PostgreSQL nor Redis can be reached).

A push is a notification, not a delivery guarantee: a message lost in an outage is not sent again;
a client reads the state it shows on (re)connect and treats pushes as hints to refresh.
"""
