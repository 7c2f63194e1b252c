"""Computing analytics in the background: the parameters of each kind as forms (`params`), what each kind
computes (`producers.PRODUCERS`, an explicit table), a snapshot's life — request, compute, the nightly
standard set (`lifecycle`) — and the periodic task (`tasks`). Imports flow one way: tasks → lifecycle →
producers → the measures; nothing here is registered by importing it."""
