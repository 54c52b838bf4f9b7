"""Real NVP: inverse, exact log-density (integrates to 1; log-det against autograd), MLE training, the energy on
top of it (objectives at E = 0, training smoke runs with the base fixed and joint), and the tabular splits."""

import copy
import math

import pytest
import torch
from latentebm.data import tabular, toys
from latentebm.models.flows import RealNVP, alternating_masks
from latentebm.training import ebm
from latentebm.training.flows import FlowFitConfig, fit_flow, mean_nll
from latentebm.training.loop import ProgressLog


def random_flow(dim: int, seed: int = 0, n_layers: int = 4, scale: float = 0.3) -> RealNVP:
    """A flow away from the identity (its last layers start at zero): perturb every parameter."""
    torch.manual_seed(seed)
    flow = RealNVP(dim, n_layers, hidden=16)
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(scale * torch.randn_like(p))
    return flow


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
    flow = RealNVP(2, 4, 32)
    before = mean_nll(flow, x[400:])
    log = ProgressLog.to_file(tmp_path / "flow.log", every=50)
    fit = fit_flow(flow, x[:400], x[400:], FlowFitConfig(steps=150, eval_every=25), g, log=log)
    log.stream.close()
    assert fit.best_val_nll < before - 0.5
    assert math.isclose(mean_nll(flow, x[400:]), fit.best_val_nll, rel_tol=1e-12)
    assert fit.best_val_nll == min(fit.val_nll)


def test_mle_fit_resumes_from_its_checkpoint(tmp_path):
    torch.set_default_dtype(torch.float64)
    x = toys.two_moons(300, 0.1, torch.Generator().manual_seed(0))
    config = FlowFitConfig(steps=40, eval_every=10, checkpoint_every=20)
    torch.manual_seed(0)
    straight = fit_flow(RealNVP(2, 2, 8), x[:200], x[200:], config, torch.Generator().manual_seed(1))
    torch.manual_seed(0)
    flow = RealNVP(2, 2, 8)
    path = tmp_path / "flow.pt"
    fit_flow(flow, x[:200], x[200:], FlowFitConfig(steps=20, eval_every=10, checkpoint_every=20),
             torch.Generator().manual_seed(1), checkpoint=path)
    resumed = fit_flow(flow, x[:200], x[200:], config, torch.Generator().manual_seed(99), checkpoint=path)
    assert math.isclose(resumed.best_val_nll, straight.best_val_nll, rel_tol=1e-10)


def test_objectives_at_zero_energy_are_zero_and_kale_is_below_dv():
    torch.set_default_dtype(torch.float64)
    model = ebm.EnergyOnBase(random_flow(2), ebm.make_energy(2, 8))
    x, y = torch.randn(30, 2), torch.randn(40, 2)
    assert ebm.kale_objective(model, x, y).item() == pytest.approx(0.0, abs=1e-12)
    assert ebm.dv_objective(model, x, y).item() == pytest.approx(0.0, abs=1e-12)
    with torch.no_grad():  # KALE <= DV for every c, equal at c = log E_Q exp(-E)
        for p in model.energy.parameters():
            p.add_(0.5 * torch.randn_like(p))
        model.c.fill_(0.7)
        kale, dv = ebm.kale_objective(model, x, y).item(), ebm.dv_objective(model, x, y).item()
        model.c.fill_((torch.logsumexp(-model.energy(y), 0) - math.log(40)).item())
        assert kale <= dv
        assert ebm.kale_objective(model, x, y).item() == pytest.approx(dv, abs=1e-10)


@pytest.mark.parametrize("method", ebm.METHODS)
@pytest.mark.parametrize("train_base", [False, True])
def test_energy_training_runs_and_never_ends_worse_than_its_start(method, train_base):
    torch.set_default_dtype(torch.float64)
    g = torch.Generator().manual_seed(0)
    x = toys.two_moons(400, 0.1, g)
    flow = RealNVP(2, 2, 16)
    fit_flow(flow, x[:300], x[300:], FlowFitConfig(steps=60, eval_every=20), g)
    base_before = copy.deepcopy(flow.state_dict())
    model = ebm.EnergyOnBase(flow, ebm.make_energy(2, 16))
    config = ebm.EnergyFitConfig(method=method, steps=30, n_base=64, eval_every=10, eval_samples=512,
                                 langevin_steps=3, train_base=train_base)
    fit = ebm.fit_energy(model, x[:300], x[300:], config, g)
    assert fit.best_val_nll <= fit.val_nll[0]
    assert len(fit.objective) == 30
    changed = any(not torch.equal(base_before[k], v) for k, v in model.base.state_dict().items())
    assert changed == (train_base and fit.best_step > 0)


def test_unknown_method_is_refused():
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


def test_dataset_names_are_checked():
    assert tabular.check_names("redwine, hepmass") == ["redwine", "hepmass"]
    with pytest.raises(tabular.ParameterError, match="datasets"):
        tabular.check_names("redwine,power")
