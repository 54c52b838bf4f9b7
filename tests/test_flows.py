"""Real NVP: inverse, exact log-density (integrates to 1; log-det against autograd), MLE training (selection,
resume with the whole learning curve), the energy on top of it (the bounds at E = 0, training with the base fixed
and joint, selection and resume), and the tabular splits."""

import copy
import math

import numpy as np
import pytest
import torch
from latentebm.data import tabular, toys
from latentebm.models.flows import RealNVP, alternating_masks
from latentebm.runtime import initialised_from, torch_generator
from latentebm.training import ebm
from latentebm.training.flows import FlowFitConfig, fit_flow, mean_nll
from latentebm.training.loop import CheckpointError, ProgressLog


def random_flow(dim: int, seed: int = 0, n_layers: int = 4, scale: float = 0.3) -> RealNVP:
    """A flow away from the identity (its last layers start at zero): perturb every parameter."""
    rng = torch_generator(seed)
    with initialised_from(rng):
        flow = RealNVP(dim, n_layers, hidden=16)
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(scale * torch.randn(p.shape, generator=rng, dtype=p.dtype))
    return flow


def new_flow(dim: int, n_layers: int, hidden: int, seed: int = 0) -> RealNVP:
    with initialised_from(torch_generator(seed)):
        return RealNVP(dim, n_layers, hidden)


def test_masks_alternate_and_cover_every_coordinate():
    masks = alternating_masks(5, 4)
    assert masks.shape == (4, 5)
    assert torch.all(masks[0] + masks[1] == 1)
    assert torch.all((1 - masks).sum(0) >= 1)


def test_inverse_inverts_and_log_dets_cancel():
    torch.set_default_dtype(torch.float64)
    flow = random_flow(3)
    x = torch.randn(50, 3)
    z, log_det = flow.to_latent(x)
    x_back, log_det_back = flow.generate(z)
    assert torch.allclose(x_back, x, atol=1e-10)
    assert torch.allclose(log_det + log_det_back, torch.zeros(50), atol=1e-10)


def test_log_det_matches_autograd_jacobian():
    torch.set_default_dtype(torch.float64)
    flow = random_flow(2, seed=1)
    x = torch.randn(5, 2)
    _, log_det = flow.to_latent(x)
    for i in range(5):
        jacobian = torch.autograd.functional.jacobian(lambda v: flow.to_latent(v.unsqueeze(0))[0][0], x[i])
        assert math.isclose(torch.linalg.slogdet(jacobian)[1].item(), log_det[i].item(), abs_tol=1e-10)


def test_log_density_integrates_to_one_on_a_grid():
    torch.set_default_dtype(torch.float64)
    flow = random_flow(2, seed=2)
    axis = torch.linspace(-12.0, 12.0, 601)
    xx, yy = torch.meshgrid(axis, axis, indexing="ij")
    with torch.no_grad():
        density = flow.log_prob(torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)).exp()
    cell = (axis[1] - axis[0]) ** 2
    assert abs(density.sum().item() * cell - 1.0) < 2e-3


def test_samples_carry_their_log_density():
    torch.set_default_dtype(torch.float64)
    flow = random_flow(3, seed=3)
    g = torch.Generator().manual_seed(0)
    x, log_q = flow.sample(20, g)
    assert torch.allclose(log_q, flow.log_prob(x), atol=1e-10)


def test_mle_fit_lowers_the_nll_and_selects_on_validation(tmp_path):
    torch.set_default_dtype(torch.float64)
    g = torch.Generator().manual_seed(0)
    x = toys.two_moons(600, 0.1, g)
    flow = new_flow(2, 4, 32)
    before = mean_nll(flow, x[400:])
    log = ProgressLog.to_file(tmp_path / "flow.log", every=50)
    fit = fit_flow(flow, x[:400], x[400:], FlowFitConfig(steps=150, eval_every=25), g, log=log)
    log.stream.close()
    assert fit.eval_steps == [0, 25, 50, 75, 100, 125, 150] and fit.val_nll[0] == before
    assert fit.best_val_nll == min(fit.val_nll) == fit.val_nll[fit.eval_steps.index(fit.best_step)]
    assert mean_nll(flow, x[400:]) == fit.best_val_nll  # the returned flow is the selected one
    assert fit.best_val_nll < before - 0.5  # the optimiser moved it: a broken step would not get this far


def test_mle_fit_resumes_from_its_checkpoint_with_the_whole_history(tmp_path):
    torch.set_default_dtype(torch.float64)
    x = toys.two_moons(300, 0.1, torch.Generator().manual_seed(0))
    config = FlowFitConfig(steps=40, eval_every=10)
    straight = fit_flow(new_flow(2, 2, 8), x[:200], x[200:], config, torch.Generator().manual_seed(1))
    path = tmp_path / "flow.pt"
    first = fit_flow(new_flow(2, 2, 8), x[:200], x[200:], config, torch.Generator().manual_seed(1), checkpoint=path,
                     checkpoint_every=30)
    assert first.val_nll == straight.val_nll  # checkpointing does not change the run
    # the file holds step 30: a second run resumes there, with another initialisation and another generator
    # that the checkpoint must overwrite, and runs steps 31-40
    resumed_flow = new_flow(2, 2, 8, seed=5)
    resumed = fit_flow(resumed_flow, x[:200], x[200:], config, torch.Generator().manual_seed(99), checkpoint=path,
                       checkpoint_every=30)
    assert resumed.eval_steps == straight.eval_steps == [0, 10, 20, 30, 40]
    assert (resumed.train_nll, resumed.val_nll) == (straight.train_nll, straight.val_nll)
    assert (resumed.best_val_nll, resumed.best_step) == (straight.best_val_nll, straight.best_step)
    for a, b in zip(resumed_flow.parameters(), straight.flow.parameters(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(CheckpointError, match="another config"):  # never resumed under another learning rate
        fit_flow(new_flow(2, 2, 8), x[:200], x[200:], FlowFitConfig(steps=40, eval_every=10, lr=0.01),
                 torch.Generator().manual_seed(1), checkpoint=path, checkpoint_every=30)


def test_the_bounds_at_zero_energy_are_zero_and_kale_is_below_dv():
    torch.set_default_dtype(torch.float64)
    with initialised_from(torch_generator(0)):
        model = ebm.EnergyOnBase(random_flow(2), ebm.make_energy(2, 8))
    x, y = torch.randn(30, 2), torch.randn(40, 2)
    assert ebm.energy_bound(model, "kale", x, y).item() == pytest.approx(0.0, abs=1e-12)
    assert ebm.energy_bound(model, "dv", x, y).item() == pytest.approx(0.0, abs=1e-12)
    with torch.no_grad():  # KALE <= DV for every c, equal at c = log E_Q exp(-E)
        for p in model.energy.parameters():
            p.add_(0.5 * torch.randn_like(p))
        model.c.fill_(0.7)
        kale, dv = ebm.energy_bound(model, "kale", x, y).item(), ebm.energy_bound(model, "dv", x, y).item()
        model.c.fill_((torch.logsumexp(-model.energy(y), 0) - math.log(40)).item())
        assert kale < dv - 1e-3
        assert ebm.energy_bound(model, "kale", x, y).item() == pytest.approx(dv, abs=1e-10)
    with pytest.raises(ValueError, match="cd"):
        ebm.energy_bound(model, "cd", x, y)


def underfit_base(x: torch.Tensor) -> RealNVP:
    """A flow after a short MLE run on two moons: far from the data, so an energy has something to correct."""
    flow = new_flow(2, 2, 16)
    fit_flow(flow, x[:300], x[300:], FlowFitConfig(steps=60, eval_every=20), torch.Generator().manual_seed(1))
    return flow


@pytest.mark.parametrize(("method", "margin"), [("kale", 0.08), ("dv", 0.08), ("cd", 0.06)])
@pytest.mark.parametrize("train_base", [False, True])
def test_energy_training_improves_on_its_base_and_returns_the_selected_state(method, margin, train_base):
    torch.set_default_dtype(torch.float64)
    x = toys.two_moons(400, 0.1, torch.Generator().manual_seed(0))
    flow = underfit_base(x)
    base_before = copy.deepcopy(flow.state_dict())
    with initialised_from(torch_generator(2)):
        model = ebm.EnergyOnBase(flow, ebm.make_energy(2, 32))
    config = ebm.EnergyFitConfig(method=method, steps=100, n_base=64, lr=1e-2, eval_every=10, eval_samples=512,
                                 langevin_steps=5, langevin_step_size=0.05, train_base=train_base)
    fit = ebm.fit_energy(model, x[:300], x[300:], config, torch.Generator().manual_seed(3))
    assert fit.eval_steps == list(range(0, 101, 10)) and len(fit.objective) == 100
    best = int(np.argmin(fit.val_nll))
    assert (fit.best_step, fit.best_val_nll) == (fit.eval_steps[best], fit.val_nll[best])
    # the returned model is the selected one: its validation NLL, recomputed with the same draws, is the minimum
    assert ebm.validation_nll(model, x[300:], 512, fit.validation_rng()) == pytest.approx(fit.best_val_nll, abs=1e-12)
    # and it improved on the base alone (step 0) by more than noise (about 0.12 nats here for every method): an
    # optimiser that does not move the energy, or moves it the wrong way, keeps step 0
    assert fit.best_val_nll < fit.val_nll[0] - margin
    changed = any(not torch.equal(base_before[k], v) for k, v in model.base.state_dict().items())
    assert changed == train_base


@pytest.mark.parametrize("method", ["kale", "cd"])
def test_energy_training_resumes_with_the_whole_history(method, tmp_path):
    torch.set_default_dtype(torch.float64)
    x = toys.two_moons(400, 0.1, torch.Generator().manual_seed(0))
    flow = underfit_base(x)
    config = ebm.EnergyFitConfig(method=method, steps=30, n_base=32, eval_every=10, eval_samples=256,
                                 langevin_steps=3)

    def model(seed=2):
        with initialised_from(torch_generator(seed)):
            return ebm.EnergyOnBase(copy.deepcopy(flow), ebm.make_energy(2, 8))

    straight = ebm.fit_energy(model(), x[:300], x[300:], config, torch.Generator().manual_seed(3))
    path = tmp_path / "energy.pt"
    first = ebm.fit_energy(model(), x[:300], x[300:], config, torch.Generator().manual_seed(3), checkpoint=path,
                           checkpoint_every=20)
    assert first.val_nll == straight.val_nll  # checkpointing does not change the run
    # the file holds step 20 (not 30: no multiple of 20): a second run resumes there and runs steps 21-30
    resumed_model = model(seed=9)
    resumed = ebm.fit_energy(resumed_model, x[:300], x[300:], config, torch.Generator().manual_seed(99),
                             checkpoint=path, checkpoint_every=20)
    assert resumed.eval_steps == straight.eval_steps == [0, 10, 20, 30]
    assert resumed.val_nll == straight.val_nll and resumed.objective == straight.objective
    assert (resumed.best_val_nll, resumed.best_step) == (straight.best_val_nll, straight.best_step)
    for a, b in zip(resumed_model.state_dict().values(), straight.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_unknown_method_is_refused():
    with initialised_from(torch_generator(0)):
        model = ebm.EnergyOnBase(RealNVP(2, 2, 4), ebm.make_energy(2, 4))
    with pytest.raises(ValueError, match="method"):
        ebm.fit_energy(model, torch.randn(10, 2), torch.randn(5, 2), ebm.EnergyFitConfig(method="nce"),
                       torch.Generator())


def test_ci_wine_splits_are_fixed_disjoint_and_standardised():
    torch.set_default_dtype(torch.float64)
    a, b = tabular.load("sklearn_wine"), tabular.load("sklearn_wine")
    assert torch.equal(a.test, b.test)
    assert (a.train.shape[0], a.val.shape[0], a.test.shape[0], a.dim) == (106, 36, 36, 13)
    assert torch.allclose(a.train.mean(0), torch.zeros(13), atol=1e-10)
    assert torch.allclose(a.train.std(0, correction=0), torch.ones(13), atol=1e-10)
    rows = {tuple(r.tolist()) for r in torch.cat([a.train, a.val, a.test])}
    assert len(rows) == 178


def test_an_unknown_dataset_is_a_plain_error_naming_it():
    with pytest.raises(ValueError, match="'power'") as failure:
        tabular.load("power")
    assert type(failure.value) is ValueError  # a loader error, not a notebook-parameter error
    assert set(tabular.DATASETS) == set(tabular.LOADERS)
