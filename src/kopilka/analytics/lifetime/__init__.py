"""Lifetime value: the BG/NBD model of repeat purchasing and the Gamma-Gamma model of spend, fitted by
maximum likelihood (`mle`), and each member's expected value over a horizon (`clv`), on the RFM summary of
`measures`."""
