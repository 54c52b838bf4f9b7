"""The joint-KL identities, the RBM paths, the importance-weighted bounds and the VAE/IWAE loop (notebook 17)."""

import math

import numpy as np
import pytest
import torch
from latentebm.divergences import importance_weighted as iw
from latentebm.divergences import joint_kl
from latentebm.guards import DivergenceError
from latentebm.models import rbm as rbms
from latentebm.models.factor_analysis import FactorAnalysis
from latentebm.models.latent_generators import LatentGenerator
from latentebm.models.vae import (
    Encoder,
    analytic_kl_elbo,
    bernoulli_log_likelihood,
    diagonal_normal_log_prob,
    log_weights,
)
from latentebm.runtime import initialised_from, torch_generator
from latentebm.training.iwae import IWConfig, active_units, train_iw
from latentebm.training.loop import CheckpointError


def test_chain_rule_terms_add_up_and_vanish_at_the_posterior():
    rng = torch_generator(0)
    q = joint_kl.random_table((5,), rng)[:, None] * joint_kl.random_table((5, 7), rng)
    p = joint_kl.random_table((35,), rng).reshape(5, 7)
    parts = joint_kl.chain_rule(q, p)
    assert parts.gap < 1e-12 and parts.conditional > 0
    assert parts.bound - parts.neg_log_likelihood == pytest.approx(parts.conditional, abs=1e-12)
    # q(tau|x) = p(tau|x): the conditional term is 0 and the bound is tight
    exact = joint_kl.posterior_mixture(q / q.sum(1, keepdim=True), p / p.sum(1, keepdim=True), 1.0)
    tight = joint_kl.chain_rule(q.sum(1, keepdim=True) * exact, p)
    assert abs(tight.conditional) < 1e-12 and tight.bound == pytest.approx(tight.neg_log_likelihood, abs=1e-12)


def test_vae_joint_kl_is_minus_entropy_minus_mean_elbo():
    rng = torch_generator(1)
    data, enc = joint_kl.random_table((6,), rng), joint_kl.random_table((6, 4), rng)
    prior, dec = joint_kl.random_table((4,), rng), joint_kl.random_table((4, 6), rng)
    forms = joint_kl.vae_joint(data, enc, prior, dec)
    assert forms["joint"] == pytest.approx(forms["elbo_form"], abs=1e-12)
    assert forms["joint"] == pytest.approx(forms["chain_form"], abs=1e-12)


def test_dae_decoder_gradient_is_the_reconstruction_gradient_and_the_encoder_gradient_is_not():
    rng = torch_generator(2)
    data = joint_kl.random_table((6,), rng)
    enc = torch.randn(6, 3, generator=rng, dtype=torch.float64).requires_grad_()
    dec = torch.randn(3, 6, generator=rng, dtype=torch.float64).requires_grad_()
    parts = joint_kl.dae_joint(data, enc.softmax(1), dec.softmax(1))
    assert float(parts["joint"].detach()) == pytest.approx(float(parts["expected_conditional"].detach()), abs=1e-12)
    kl_enc, kl_dec = torch.autograd.grad(parts["joint"], (enc, dec), retain_graph=True)
    rec_enc, rec_dec = torch.autograd.grad(parts["reconstruction"], (enc, dec), retain_graph=True)
    (h_enc,) = torch.autograd.grad(parts["conditional_entropy"], (enc,))
    assert torch.allclose(kl_dec, rec_dec, atol=1e-12)
    assert torch.allclose(kl_enc, rec_enc - h_enc, atol=1e-12)
    assert (kl_enc - rec_enc).norm() > 1e-3 * rec_enc.norm()


def test_rbm_conditionals_and_stationarity():
    machine = rbms.RBM.random(4, 3, torch_generator(3))
    to_z, to_x = machine.transition_x_to_z(), machine.transition_z_to_x()
    assert torch.allclose(to_z.sum(1), torch.ones(16, dtype=torch.float64))
    assert torch.allclose(to_x.sum(1), torch.ones(8, dtype=torch.float64))
    # the joint by brute force gives the same conditionals and marginals
    xs, zs = rbms.binary_states(4), rbms.binary_states(3)
    joint = torch.exp(-machine.energy(xs[:, None, :].expand(16, 8, 4).reshape(-1, 4),
                                      zs[None].expand(16, 8, 3).reshape(-1, 3))).reshape(16, 8)
    joint = joint / joint.sum()
    assert torch.allclose(to_z, joint / joint.sum(1, keepdim=True), atol=1e-12)
    assert torch.allclose(machine.marginal_x(), joint.sum(1), atol=1e-12)
    assert torch.allclose(machine.marginal_x() @ to_z, machine.marginal_z(), atol=1e-12)
    assert torch.equal(rbms.state_index(xs), torch.arange(16))


def test_gibbs_path_ratio_telescopes_and_the_stationary_prior_is_tight():
    rng = torch_generator(4)
    machine = rbms.RBM.random(4, 2, rng)
    data = joint_kl.random_table((16,), rng)
    rows = torch.multinomial(data, 300, replacement=True, generator=rng)
    xs, zs = rbms.gibbs_paths(machine, rbms.binary_states(4)[rows], 3, rng)
    prior = machine.marginal_z()
    log_prior = prior.log()[rbms.state_index(zs[-1])]
    by_factor = rbms.path_log_ratio(machine, xs, zs, data.log()[rows], log_prior)
    telescoped = rbms.telescoped_log_ratio(machine, xs[0], zs[-1], data.log()[rows], log_prior)
    assert torch.allclose(by_factor, telescoped, atol=1e-12)
    kl = float(joint_kl.kl_tables(data, machine.marginal_x()))
    for k in (1, 2, 4):
        assert rbms.path_kl(machine, data, k, prior)["path"] == pytest.approx(kl, abs=1e-12)
    other = joint_kl.random_table((4,), rng)
    assert rbms.path_kl(machine, data, 1, other)["path"] == pytest.approx(
        rbms.enumerated_path_kl(machine, data, other), abs=1e-12)


def small_ppca(seed=5):
    rng = torch_generator(seed)
    model = FactorAnalysis.random(6, 2, 0.5, rng)
    x, _ = model.sample(8, rng)
    return model, x, rng


def test_iw_bound_is_exact_with_the_posterior_as_proposal():
    model, x, rng = small_ppca()
    # the posterior's covariance is not diagonal in general: use a model whose W has orthogonal columns
    q, _ = torch.linalg.qr(model.W)
    ortho = FactorAnalysis(q * torch.tensor([1.5, 0.7], dtype=torch.float64), model.mu, model.sigma)
    mean, cov = ortho.posterior(x)
    assert torch.allclose(cov, torch.diag(cov.diagonal()), atol=1e-12)
    log_w = ortho.log_weights(x, mean, cov.diagonal().sqrt(), 7, rng)
    assert torch.allclose(log_w, ortho.log_evidence(x).expand(7, -1), atol=1e-10)


def test_iw_bound_rises_with_k_and_stays_below_the_evidence():
    model, x, rng = small_ppca(6)
    mean, cov = model.posterior(x)
    std = 1.8 * cov.diagonal().sqrt()
    ks = [1, 2, 4, 8, 16, 64]
    bounds = torch.stack([iw.nested_bounds(model.log_weights(x, mean, std, 64, rng), ks) for _ in range(400)])
    means = bounds.mean((0, 2))
    assert bool((means[1:] > means[:-1]).all())
    assert float(means[-1]) < float(model.log_evidence(x).mean())


def test_seed_bound_adds_log_k_and_weights_are_detached_and_normalised():
    log_w = torch.randn(10, 4, dtype=torch.float64, requires_grad=True)
    assert torch.allclose(iw.seed_bound(log_w), iw.iw_bound(log_w) + math.log(10))
    weights = iw.normalised_weights(log_w)
    assert not weights.requires_grad
    assert torch.allclose(weights.sum(0), torch.ones(4, dtype=torch.float64))
    with pytest.raises(ValueError):
        iw.nested_bounds(log_w, [1, 20])


def test_ppca_fit_is_the_maximum_likelihood_solution():
    model, _, rng = small_ppca(7)
    x, _ = model.sample(4000, rng)
    fitted = FactorAnalysis.fit(x, 2)
    base = float(fitted.log_evidence(x).mean())
    for scale in (0.95, 1.05):
        worse = FactorAnalysis(fitted.W * scale, fitted.mu, fitted.sigma)
        assert float(worse.log_evidence(x).mean()) < base
    assert float(FactorAnalysis(fitted.W, fitted.mu, fitted.sigma * 1.05).log_evidence(x).mean()) < base


def test_bernoulli_and_normal_log_densities_match_torch():
    rng = torch_generator(8)
    x = (torch.rand(5, 7, generator=rng) < 0.5).float()
    logits = torch.randn(5, 7, generator=rng) * 3
    expected = torch.distributions.Bernoulli(logits=logits).log_prob(x).sum(-1)
    assert torch.allclose(bernoulli_log_likelihood(x, logits), expected, atol=1e-5)
    z, m, v = torch.randn(3, 5, 4, generator=rng), torch.randn(5, 4, generator=rng), torch.randn(5, 4, generator=rng)
    normal = torch.distributions.Normal(m, (0.5 * v).exp()).log_prob(z).sum(-1)
    assert torch.allclose(diagonal_normal_log_prob(z, m, v), normal, atol=1e-5)


def tiny_models():
    with initialised_from(torch_generator(9)):
        return Encoder(16, 3, 8), LatentGenerator((3,), 16, 8, output="linear")


def test_log_weights_shape_and_iwae_gradient_flows_to_both_networks():
    encoder, decoder = tiny_models()
    x = (torch.rand(6, 16, generator=torch_generator(1)) < 0.4).float()
    log_w = log_weights(encoder, decoder, x, 5, torch_generator(2))
    assert log_w.shape == (5, 6)
    iw.iw_bound(log_w).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in [*encoder.parameters(), *decoder.parameters()])
    assert active_units(encoder, x, threshold=0.0) <= 3


def tiny_train(config, checkpoint=None, decoder_class=LatentGenerator):
    with initialised_from(torch_generator(9)):
        encoder, decoder = Encoder(16, 3, 8), decoder_class((3,), 16, 8, output="linear")
    x = torch.rand(40, 16, generator=torch_generator(3))
    trace = train_iw(encoder, decoder, x, config, torch_generator(4), checkpoint=checkpoint)
    return encoder, decoder, trace


def test_iw_training_resumes_exactly_after_an_interruption(tmp_path, monkeypatch):
    path = tmp_path / "iw.pt"
    config = IWConfig(k=3, steps=8, batch_size=10, checkpoint_every=2)
    reference_enc, reference_dec, reference_trace = tiny_train(IWConfig(k=3, steps=8, batch_size=10))
    calls, original = {"n": 0}, torch.randint

    def failing_randint(*args, **kwargs):  # the batch draw of step 6 dies, after the checkpoint of step 4
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(torch, "randint", failing_randint)
        with pytest.raises(KeyboardInterrupt):
            tiny_train(config, path)
    encoder, decoder, trace = tiny_train(config, path)
    assert trace == reference_trace
    for a, b in zip([*reference_enc.parameters(), *reference_dec.parameters()],
                    [*encoder.parameters(), *decoder.parameters()], strict=True):
        assert torch.equal(a, b)
    with pytest.raises(CheckpointError, match="another config"):
        tiny_train(IWConfig(k=3, steps=8, batch_size=10, checkpoint_every=2, lr=2e-3), path)


def test_iw_training_stops_on_a_non_finite_objective():
    class Broken(LatentGenerator):
        def forward(self, z):
            return super().forward(z) * float("nan")

    with pytest.raises(DivergenceError):
        tiny_train(IWConfig(k=2, steps=3, batch_size=10), decoder_class=Broken)


def test_iw_config_rejects_unknown_objectives():
    with pytest.raises(ValueError, match="objective"):
        IWConfig(objective="wake-sleep")
    with pytest.raises(ValueError, match="k must"):
        IWConfig(k=0)


def test_resampling_follows_the_normalised_weights():
    log_w = torch.log(torch.tensor([[0.7, 1e-30], [0.2, 1.0], [0.1, 1e-30]], dtype=torch.float64))
    picks = torch.stack([iw.resample(log_w, torch_generator(i)) for i in range(4000)])
    assert bool((picks[:, 1] == 1).all())
    shares = torch.bincount(picks[:, 0], minlength=3).double() / 4000
    assert torch.allclose(shares, torch.tensor([0.7, 0.2, 0.1], dtype=torch.float64), atol=0.03)


def test_the_closed_form_kl_elbo_is_the_sampled_elbo_in_expectation():
    encoder, decoder = tiny_models()
    x = (torch.rand(4, 16, generator=torch_generator(5)) < 0.4).float()
    with torch.no_grad():
        sampled = log_weights(encoder, decoder, x, 40000, torch_generator(6))
        closed = analytic_kl_elbo(encoder, decoder, x, 40000, torch_generator(7))
    se = sampled.std(0) / 200
    assert bool(((sampled.mean(0) - closed).abs() < 4 * se + 1e-3).all())


def test_ppca_closed_forms_for_a_gaussian_proposal_match_monte_carlo():
    model, x, rng = small_ppca(11)
    x = x[:3]
    m, cov = model.posterior(x)
    q_mean, q_std = 0.8 * m, 1.7 * cov.diagonal().sqrt()
    log_w = model.log_weights(x, q_mean, q_std, 200000, rng) - model.log_evidence(x)
    assert torch.allclose(-log_w.mean(0), model.proposal_kl(q_mean, q_std, x), atol=0.02)
    w = log_w.exp()
    assert torch.allclose(w.mean(0), torch.ones(3, dtype=torch.float64), atol=0.02)
    assert torch.allclose(w.var(0), model.weight_relative_variance(q_mean, q_std, x), rtol=0.1)
    # the exact posterior as proposal: no gap, no variance
    assert float(model.proposal_kl(m, cov.diagonal().sqrt(), x).min()) > 0  # a correlated posterior, a diagonal q
    q, _ = torch.linalg.qr(model.W)
    ortho = FactorAnalysis(q * torch.tensor([1.5, 0.7], dtype=torch.float64), model.mu, model.sigma)
    m, cov = ortho.posterior(x)
    assert float(ortho.proposal_kl(m, cov.diagonal().sqrt(), x).abs().max()) < 1e-10
    assert float(ortho.weight_relative_variance(m, cov.diagonal().sqrt(), x).abs().max()) < 1e-10


def test_bound_study_against_its_closed_forms():
    from latentebm.experiments import iw_bounds

    model, x, rng = small_ppca(12)
    q = iw_bounds.mismatched_proposal(model, x, 0.9, 1.5)
    study = iw_bounds.bound_study(model, x, q, 60, rng, ks=(1, 4, 16, 64))
    assert abs(study.gap[0] - study.kl.mean()) < 4 * study.gap_se[0] + 1e-9
    assert bool((np.diff(study.bound) > 0).all()) and bool((study.gap > 0).all())
    assert np.allclose(study.seed_overshoot, -study.gap + np.log([1, 4, 16, 64]), atol=1e-9)
    assert iw_bounds.wake_sleep_gradient_gap(model, x, q, 8, rng) < 1e-10
