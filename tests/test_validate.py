import re
from functools import partial

import numpy as np
import pytest

from movierec import validate
from movierec.errors import InvalidValueError


@pytest.mark.parametrize(
    ("check", "args", "message"),
    [
        (validate.check_k, (0,), "k must be a positive integer, got 0"),
        (validate.check_k, (True,), "k must be a positive integer, got True"),
        (validate.check_k, (2.0,), "k must be a positive integer, got 2.0"),
        (validate.int_at_least, (1, "cv", 2), "cv must be an integer of at least 2, got 1"),
        (validate.int_in, (9, "n", 2, 8), "n must be an integer from 2 to 8, got 9"),
        (validate.number_at_least, (np.nan, "reg"), "reg must be a finite number >= 0, got nan"),
        (
            partial(validate.number_at_least, strict=True),
            (0, "lr"),
            "lr must be a finite number > 0",
        ),
        (partial(validate.number_in, high_open=True), (1, "q", 0, 1), "q must be in [0, 1), got 1"),
        (validate.number_in, (False, "q", 0, 1), "q must be in [0, 1], got False"),
        (validate.boolean, (1, "idf"), "idf must be True or False, got 1"),
        (
            validate.one_of,
            ("x", "solver", ("cg", "cholesky")),
            "solver must be one of cg, cholesky",
        ),
    ],
)
def test_refusals_name_the_field_and_the_range(check, args, message):
    with pytest.raises(InvalidValueError, match=re.escape(message)):
        check(*args)


def test_numpy_scalars_pass_and_none_passes_when_optional():
    validate.check_k(np.int32(3))
    validate.number_in(np.float32(0.5), "q", 0, 1)
    validate.positive_int(None, "max_features", optional=True)
    validate.number_at_least(None, "reg_bias", optional=True)
