"""Contact-centre metrics: exact definitions, aggregations, reports and Erlang C.

`definitions` says what every figure means; `records` and `queue_log` turn the
listener's call records and Asterisk's queue_log into the same `QueueCall`s;
`aggregate` groups them per queue, agent and interval; `reports` builds the
interval and monthly reports; `erlang` does staffing. Imports only `servicedesk`.
"""
