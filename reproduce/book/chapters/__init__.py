"""Each chapter's tables and generated sentences, one module per chapter, beside the claims they state
(:mod:`..claims`): changing what a chapter says touches its module. What they share, how numbers and runs read, is
:mod:`reproduce.book.formatting`."""
