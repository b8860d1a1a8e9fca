"""The complaint rating layer recovers how much stars say, on data whose answer is known."""

import numpy as np

from models.sentiment.ratings import fit_evidence_layer

# P(stars | complaint) and P(stars | no complaint), 1 to 5 stars.
GIVEN_COMPLAINT = np.array([0.55, 0.25, 0.10, 0.06, 0.04])
GIVEN_NONE = np.array([0.03, 0.04, 0.11, 0.30, 0.52])


def test_the_evidence_layer_finds_the_stars_log_likelihood_ratios() -> None:
    """Reviews drawn from a known model: a latent complaint, stars drawn given it, and a text
    logit that is the exact log-odds of a noisy text view. EM must land on the true ratios;
    stopping after one step (0.6's fit) shrinks them by half or more."""
    rng = np.random.default_rng(0)
    n, prior = 40_000, 0.4
    complaint = rng.random(n) < prior
    stars = np.array([rng.choice(5, p=GIVEN_COMPLAINT if c else GIVEN_NONE) + 1
                      for c in complaint])
    view = rng.normal(np.where(complaint, 1.0, -1.0), 1.5)
    text_logit = np.log(prior / (1 - prior)) + 2 * view / 1.5**2
    layer = fit_evidence_layer(text_logit, stars)
    truth = np.log(GIVEN_COMPLAINT / GIVEN_NONE)
    assert layer.weight[0, 0] == 1.0 and np.all(layer.bias == 0)
    np.testing.assert_allclose(layer.weight[0, 1:], truth, atol=0.3)  # one step: off by 1.2 to 2.2
    # Unrated rows (0) are left out of the fit rather than read as a star value.
    unrated = np.concatenate([stars, np.zeros(500, int)])
    again = fit_evidence_layer(np.concatenate([text_logit, np.full(500, 9.0)]), unrated)
    np.testing.assert_allclose(again.weight, layer.weight, atol=1e-5)
