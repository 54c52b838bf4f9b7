"""Latent generator models: inference reduces reconstruction error, both learning algorithms and the VAE learn,
training resumes from a checkpoint, the loaders, the layer resampling and the sample distances behave."""

import numpy as np
import pytest
import torch
from latentebm.data import images_latent
from latentebm.metrics.frechet import frechet_distance
from latentebm.metrics.sample_distances import energy_distance
from latentebm.models.latent_generators import LatentGenerator, layer_resamples, log_joint, reconstruction_error
from latentebm.models.vae import Encoder, elbo
from latentebm.runtime import initialised_from, torch_generator
from latentebm.samplers.nuts_reference import nuts_posterior, toy_log_joint, toy_weights
from latentebm.training.abp import LearningConfig, short_run_infer, train_generator, train_vae


@pytest.fixture
def digits():
    images, _ = images_latent.load("digits")
    return images_latent.split(images, n_test=200, rng=np.random.default_rng(0))


def net(latent_dims, x_dim, hidden, seed=0, **options) -> LatentGenerator:
    with initialised_from(torch_generator(seed)):
        return LatentGenerator(latent_dims, x_dim, hidden=hidden, **options)


def test_digits_loader_and_split(digits):
    train, test = digits
    assert train.shape == (1597, 64) and test.shape == (200, 64)
    assert train.dtype == torch.float32 and 0.0 <= float(train.min()) and float(train.max()) <= 1.0
    from sklearn.datasets import load_digits

    np.testing.assert_array_equal(images_latent.load("digits")[0], load_digits().data / 16.0)
    again, _ = images_latent.split(images_latent.load("digits")[0], n_test=200, rng=np.random.default_rng(0))
    torch.testing.assert_close(train, again)
    with pytest.raises(ValueError, match="n_test"):
        images_latent.split(images_latent.load("digits")[0], n_test=1797, rng=np.random.default_rng(0))


def test_generator_layers_shapes_and_dtype():
    g = net([2, 3], x_dim=10, hidden=16, dtype=torch.float32)
    assert g.latent_dim == 5
    assert g(torch.zeros(4, 5)).shape == (4, 10)
    assert [z.shape[1] for z in g.split(torch.zeros(4, 5))] == [2, 3]
    assert {p.dtype for p in g.parameters()} == {torch.float32}
    assert g.prior(3, torch_generator(0)).dtype == torch.float32
    assert Encoder(10, 5, 8, dtype=torch.float32).net[0].weight.dtype == torch.float32


def test_layer_resamples_redraw_only_their_group():
    torch.set_default_dtype(torch.float64)
    g = net([2, 3], x_dim=10, hidden=16, output="linear")
    base, induced = layer_resamples(g, 4, 6, {"top": slice(0, 2), "bottom": slice(2, 5)}, torch_generator(1))
    assert base.shape == (4, 5) and induced["top"].shape == induced["bottom"].shape == (4, 6, 10)
    # holding every coordinate (an empty group) gives g(base) in every resample
    _, held = layer_resamples(g, 4, 6, {"none": slice(0, 0)}, torch_generator(1))
    torch.testing.assert_close(held["none"], g(base).detach()[:, None, :].expand(4, 6, 10))
    assert float(induced["top"].std(1).mean()) > 0


def test_inference_reduces_reconstruction_error(rng):
    g = net([4], x_dim=30, hidden=32, output="linear")
    with torch.no_grad():
        x = g(torch.randn(64, 4, generator=rng)) + 0.1 * torch.randn(64, 30, generator=rng)
        before = reconstruction_error(x, g(torch.randn(64, 4, generator=rng)))
    z = short_run_infer(g, x, sigma=0.1, s=0.05, n_steps=50, rng=rng)
    after = reconstruction_error(x, g(z).detach())
    assert after < 0.5 * before
    # and the log joint went up along the way
    z0 = torch.randn(64, 4, generator=rng)
    assert log_joint(g, x, z, 0.1).mean() > log_joint(g, x, z0, 0.1).mean()


@pytest.mark.parametrize("method", ["short_run", "abp"])
def test_learning_reduces_reconstruction_error(digits, method):
    train, _ = digits
    g = net([4], x_dim=64, hidden=32, dtype=torch.float32)
    config = LearningConfig(method=method, steps=60, batch_size=64, n_steps=10, s=0.15, tune_every=30,
                            tune_grid=(0.1, 0.2), tune_gradient_steps=2, tune_batch=8)
    run = train_generator(g, train, config, torch_generator(0))
    assert np.mean(run.loss[-10:]) < 0.8 * np.mean(run.loss[:5])
    if method == "short_run":
        assert run.tune_steps == [0, 30] and len(run.s_gradient) == 2 and run.s == run.s_gradient[-1]
    else:
        assert run.s == config.s and run.tune_steps == []


def test_the_grid_record_does_not_change_the_run(digits):
    train, _ = digits
    config = LearningConfig(steps=8, batch_size=16, n_steps=4, s=0.15, tune_every=4, tune_grid=(0.1, 0.2),
                            tune_gradient_steps=1, tune_batch=4)
    runs = [train_generator(net([3], 64, 16, dtype=torch.float32), train,
                            LearningConfig(**{**config.__dict__, "record_grid": record}), torch_generator(1))
            for record in (True, False)]
    assert runs[0].loss == runs[1].loss and runs[0].s_gradient == runs[1].s_gradient
    assert not np.isnan(runs[0].s_grid).any() and np.isnan(runs[1].s_grid).all()


def test_training_resumes_from_checkpoint(digits, tmp_path):
    train, _ = digits
    config = LearningConfig(steps=12, batch_size=32, n_steps=5, s=0.15, tune_every=5, tune_grid=(0.1, 0.2),
                            tune_gradient_steps=1, tune_batch=4)
    whole = train_generator(net([3], 64, 16, dtype=torch.float32), train, config, torch_generator(1))
    path = tmp_path / "c.pt"
    first = train_generator(net([3], 64, 16, dtype=torch.float32), train, config, torch_generator(1),
                            checkpoint=path, checkpoint_every=9)
    assert first.loss == whole.loss  # checkpointing does not change the run
    path.unlink()  # it holds the last step: start again and cut the run after its step-9 checkpoint ...
    with pytest.raises(Stop):
        train_generator(net([3], 64, 16, dtype=torch.float32), train, config, torch_generator(1), checkpoint=path,
                        checkpoint_every=9, log=StopAfter(9))
    # ... then resume with a different initialisation and generator, which the checkpoint must overwrite
    resumed = train_generator(net([3], 64, 16, seed=5, dtype=torch.float32), train, config, torch_generator(7),
                              checkpoint=path, checkpoint_every=9)
    for a, b in zip(whole.net.parameters(), resumed.net.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert resumed.loss == whole.loss and resumed.s_gradient == whole.s_gradient
    assert resumed.tune_steps == whole.tune_steps == [0, 5, 10] and resumed.s == whole.s


class Stop(Exception):
    pass


class StopAfter:
    """A progress log that interrupts the run right after ``step`` (its checkpoint is written before the log)."""

    def __init__(self, step):
        self.step = step

    def log(self, step, total, **values):
        if step == self.step + 1:
            raise Stop


def test_vae_learns(digits):
    train, _ = digits
    with initialised_from(torch_generator(0)):
        encoder, decoder = Encoder(64, 4, hidden=32, dtype=torch.float32), LatentGenerator([4], 64, hidden=32,
                                                                                           dtype=torch.float32)
    trace = train_vae(encoder, decoder, train, LearningConfig(steps=80, batch_size=64), torch_generator(0))
    assert np.mean(trace[-10:]) < np.mean(trace[:5])
    assert elbo(encoder, decoder, train[:8], 0.15, torch_generator(0)).shape == (8,)
    with pytest.raises(ValueError, match="elbo draws random numbers"):
        elbo(encoder, decoder, train[:8], 0.15, None)


def test_pixel_frechet_and_energy_distances(np_rng):
    a = np_rng.normal(size=(4000, 3))
    b = np_rng.normal(size=(4000, 3)) + np.array([1.0, 0.0, 2.0])
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
