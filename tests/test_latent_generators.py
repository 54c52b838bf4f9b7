"""Latent generator models: inference reduces reconstruction error, both learning algorithms and the VAE learn,
training resumes from a checkpoint, the loaders and the sample distances behave."""

import numpy as np
import pytest
import torch
from latentebm.data import images_latent
from latentebm.metrics.frechet import frechet_distance
from latentebm.metrics.sample_distances import energy_distance
from latentebm.models.latent_generators import LatentGenerator, log_joint, reconstruction_error
from latentebm.models.vae import Encoder, elbo
from latentebm.samplers.nuts_reference import nuts_posterior, toy_log_joint, toy_weights
from latentebm.training.abp import LearningConfig, short_run_infer, train_generator, train_vae


@pytest.fixture
def digits():
    images, _ = images_latent.load("digits")
    return images_latent.split(images, n_test=200, seed=0)


def test_digits_loader_and_split(digits):
    train, test = digits
    assert train.shape == (1597, 64) and test.shape == (200, 64)
    assert 0.0 <= float(train.min()) and float(train.max()) <= 1.0
    from sklearn.datasets import load_digits

    np.testing.assert_array_equal(images_latent.load("digits")[0], load_digits().data / 16.0)
    again, _ = images_latent.split(images_latent.load("digits")[0], n_test=200, seed=0)
    torch.testing.assert_close(train, again)


def test_generator_layers_and_shapes():
    g = LatentGenerator([2, 3], x_dim=10, hidden=16)
    assert g.latent_dim == 5
    assert g(torch.zeros(4, 5)).shape == (4, 10)
    assert [z.shape[1] for z in g.split(torch.zeros(4, 5))] == [2, 3]


def test_inference_reduces_reconstruction_error(generator):
    torch.manual_seed(0)
    g = LatentGenerator([4], x_dim=30, hidden=32, output="linear")
    with torch.no_grad():
        x = g(torch.randn(64, 4, generator=generator)) + 0.1 * torch.randn(64, 30, generator=generator)
        before = reconstruction_error(x, g(torch.randn(64, 4, generator=generator)))
    z = short_run_infer(g, x, sigma=0.1, s=0.05, n_steps=50, rng=generator)
    after = reconstruction_error(x, g(z).detach())
    assert after < 0.5 * before
    # and the log joint went up along the way
    z0 = torch.randn(64, 4, generator=generator)
    assert log_joint(g, x, z, 0.1).mean() > log_joint(g, x, z0, 0.1).mean()


@pytest.mark.parametrize("method", ["short_run", "abp"])
def test_learning_reduces_reconstruction_error(digits, method):
    torch.set_num_threads(1)
    train, _ = digits
    torch.manual_seed(0)
    g = LatentGenerator([4], x_dim=64, hidden=32)
    config = LearningConfig(method=method, steps=60, batch_size=64, n_steps=10, s=0.15, tune_every=30,
                            tune_grid=(0.1, 0.2), tune_gradient_steps=2, tune_batch=8)
    run = train_generator(g, train, config, seed=0)
    assert np.mean(run.loss[-10:]) < 0.8 * np.mean(run.loss[:5])
    if method == "short_run":
        assert run.tune_steps == [0, 30] and all(s > 0 for s in run.s_gradient)


def test_training_resumes_from_checkpoint(digits, tmp_path):
    torch.set_num_threads(1)
    train, _ = digits
    config = LearningConfig(steps=12, batch_size=32, n_steps=5, s=0.15, tune_every=5, tune_grid=(0.1, 0.2),
                            tune_gradient_steps=1, tune_batch=4, checkpoint_every=6)
    torch.manual_seed(0)
    whole = train_generator(LatentGenerator([3], 64, hidden=16), train, config, seed=1)
    torch.manual_seed(0)
    half = LearningConfig(**{**config.__dict__, "steps": 6})
    train_generator(LatentGenerator([3], 64, hidden=16), train, half, seed=1, checkpoint=tmp_path / "c.pt")
    torch.manual_seed(5)  # a different initialisation: the checkpoint must overwrite it
    resumed = train_generator(LatentGenerator([3], 64, hidden=16), train, config, seed=1,
                              checkpoint=tmp_path / "c.pt")
    for a, b in zip(whole.generator.parameters(), resumed.generator.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    assert resumed.loss == pytest.approx(whole.loss)
    assert resumed.s_gradient == pytest.approx(whole.s_gradient)


def test_vae_learns(digits):
    torch.set_num_threads(1)
    train, _ = digits
    torch.manual_seed(0)
    encoder, decoder = Encoder(64, 4, hidden=32), LatentGenerator([4], 64, hidden=32)
    trace = train_vae(encoder, decoder, train, LearningConfig(steps=80, batch_size=64), seed=0)
    assert np.mean(trace[-10:]) < np.mean(trace[:5])
    assert elbo(encoder, decoder, train[:8], 0.15).shape == (8,)


def test_pixel_frechet_and_energy_distances(rng):
    a = rng.normal(size=(4000, 3))
    b = rng.normal(size=(4000, 3)) + np.array([1.0, 0.0, 2.0])
    assert frechet_distance(a, b) == pytest.approx(5.0, abs=0.15)  # ||shift||^2, same covariance
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert energy_distance(a[:500], b[:500]) > 1.0 > energy_distance(a[:500], a[500:1000]) >= -1e-9


def test_nuts_matches_quadrature_posterior_mean():
    torch.set_default_dtype(torch.float64)
    weights = toy_weights(x_dim=4, z_dim=2, hidden=8, seed=1)
    x = np.array([0.3, -0.2, 0.5, 0.1])
    samples, diagnostics = nuts_posterior(weights, x, sigma=0.5, n_warmup=200, n_samples=400, n_chains=2, seed=0)
    grid = torch.linspace(-5, 5, 201)
    zz = torch.cartesian_prod(grid, grid)
    log_p = toy_log_joint(weights, torch.as_tensor(x).expand(len(zz), 4), zz, 0.5)
    weights_q = torch.softmax(log_p, 0)
    mean = (weights_q[:, None] * zz).sum(0).numpy()
    np.testing.assert_allclose(samples.reshape(-1, 2).mean(0), mean, atol=0.1)
    assert diagnostics["r_hat_max"] < 1.05 and diagnostics["divergences"] == 0
