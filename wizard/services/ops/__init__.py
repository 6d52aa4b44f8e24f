"""The operators' side: who may sign in (operators), what they did (audit), the activation funnel,
outbound webhooks, and the queries behind the console's pages (pages, timeline)."""
