"""The wordings a pick's reason may take (:mod:`movierec.engine.reasons`), for tests to match."""

import re

HONEST = re.compile(
    r"^(because you rated .+ \d+(\.\d+)?★"
    r"|popular with people who rated .+ and .+ highly"
    r"|well rated in .+, which you rate highly"
    r"|(popular and well rated|popular|well rated|a lesser-known pick) "
    r"\(\d[\d,]* votes?, \d+\.\d★ average\)"
    r"|a new pick: no votes yet)$"
)

BECAUSE = re.compile(r"^because you rated (.+) (\d+(?:\.\d+)?)★$")
