"""The book's optimizers, written from their update formulas as ``torch.optim.Optimizer`` classes (the scratch
versions of the chapter "Optimization Algorithms": 11.x in the 0.17 / 2.0 editions, 12.x in 1.0).

Each ``step`` is the section's formula, nothing more: ``g_t`` is the minibatch gradient, ``eta`` the learning
rate, and the state (``v``, ``s``, ``delta``, the step count ``t``) lives in ``self.state[param]``, so Lightning
saves it in checkpoints and restores it on resume. Every class also takes ``weight_decay`` (L2, added to the
gradient as torch's optimizers do: ``g_t <- g_t + weight_decay * x_{t-1}``), per parameter group, so the weight
decay chapter's groups work with them. The defaults are the hyperparameters the book's section runs on the
airfoil data (and its own epsilon, which is not always torch's). Where torch has the same algorithm,
``tests/test_optim.py`` checks the two take identical steps.

Registered by name (``--model.optimizer adam-scratch``; :data:`zoo.core.optimizers.OPTIMIZERS`) at the bottom;
as classes they work with LightningCLI's ``--optimizer zoo.optim.Yogi --optimizer.lr 0.01``.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.optim import Optimizer

from ..core.optimizers import check_hyperparameters, register_optimizer


class _BookOptimizer(Optimizer):
    """The pieces every scratch optimizer shares: checked defaults, the closure, gradients with weight decay."""

    def __init__(self, params, **defaults) -> None:
        check_hyperparameters(type(self).__name__, **defaults)
        super().__init__(params, defaults)

    def _gradients(self) -> Iterator[tuple[dict, torch.Tensor, torch.Tensor, dict]]:
        """(group, parameter, g_t with weight decay, the parameter's state) for every parameter with a gradient."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad
                if group["weight_decay"]:
                    grad = grad.add(param, alpha=group["weight_decay"])
                yield group, param, grad, self.state[param]

    def _zeros(self, state: dict, param: torch.Tensor, *names: str) -> list[torch.Tensor]:
        """The state tensors `names` of `param`, created as zeros on first use."""
        for name in names:
            if name not in state:
                state[name] = torch.zeros_like(param, memory_format=torch.preserve_format)
        return [state[name] for name in names]

    @staticmethod
    def _tick(state: dict) -> int:
        """Advance and return the parameter's step count t (1 on the first step)."""
        state["step"] = state.get("step", 0) + 1
        return state["step"]

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else torch.enable_grad()(closure)()
        for group, param, grad, state in self._gradients():
            self.update(group, param, grad, state)
        return loss

    def update(self, group: dict, param: torch.Tensor, grad: torch.Tensor, state: dict) -> None:
        raise NotImplementedError


class ScratchSGD(_BookOptimizer):
    r"""Minibatch stochastic gradient descent, the book's scratch version (sections "Minibatch Stochastic Gradient
    Descent", 11.5 in 0.17 / 12.5 in 1.0, and the hand-written ``sgd`` of "Linear Regression Implementation from
    Scratch", 3.2 / 3.4)::

        x_t = x_{t-1} - eta * g_t

    ``sgd`` is ``torch.optim.SGD``. Default lr 0.05: the section's minibatch run (batch 10) on the airfoil data.
    """

    def __init__(self, params, lr: float = 0.05, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr=lr, weight_decay=weight_decay)

    def update(self, group, param, grad, state) -> None:
        param -= group["lr"] * grad


class ScratchMomentum(_BookOptimizer):
    r"""Momentum (heavy ball), the book's scratch version (section "Momentum", 11.6 in 0.17 / 12.6 in 1.0)::

        v_t = beta * v_{t-1} + g_t
        x_t = x_{t-1} - eta * v_t

    ``beta`` is ``momentum``, in (0, 1): 0 would be plain SGD (``sgd-scratch``). torch's counterpart is
    ``torch.optim.SGD(momentum=beta)``. Defaults: the section's first airfoil run, lr 0.02 and momentum 0.5.
    """

    def __init__(self, params, lr: float = 0.02, momentum: float = 0.5, weight_decay: float = 0.0) -> None:
        if not 0 < momentum < 1:
            name = type(self).__name__
            raise ValueError(f"{name}: momentum must be in (0, 1) (the book: 0.5 or 0.9; 0 is SGD), got {momentum!r}")
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay)

    def update(self, group, param, grad, state) -> None:
        (v,) = self._zeros(state, param, "v")
        v.mul_(group["momentum"]).add_(grad)
        param -= group["lr"] * self.direction(grad, v, group["momentum"])

    @staticmethod
    def direction(grad: torch.Tensor, v: torch.Tensor, beta: float) -> torch.Tensor:
        return v


class ScratchNesterov(ScratchMomentum):
    r"""Nesterov momentum, written from its formula (the book's section "Momentum", 11.6 in 0.17 / 12.6 in 1.0,
    cites it; this is the form of Sutskever et al. 2013 that deep learning libraries use)::

        v_t = beta * v_{t-1} + g_t
        x_t = x_{t-1} - eta * (g_t + beta * v_t)

    It steps along the gradient at the look-ahead point, approximated by one more momentum step. torch's
    counterpart is ``torch.optim.SGD(momentum=beta, nesterov=True)``. The book runs no Nesterov example; the
    defaults are its momentum run's, lr 0.02 and momentum 0.5.
    """

    @staticmethod
    def direction(grad: torch.Tensor, v: torch.Tensor, beta: float) -> torch.Tensor:
        return grad + beta * v


class ScratchAdaGrad(_BookOptimizer):
    r"""AdaGrad, the book's scratch version (section "Adagrad", 11.7 in 0.17 / 12.7 in 1.0)::

        s_t = s_{t-1} + g_t^2
        x_t = x_{t-1} - eta / sqrt(s_t + eps) * g_t

    Per-coordinate rates shrink with the sum of squared gradients. The book puts eps (1e-6) inside the square
    root; ``torch.optim.Adagrad`` adds it outside (``sqrt(s_t) + eps``, default 1e-10): with eps 0 the two are
    the same formula. Default lr 0.1: the section's airfoil run.
    """

    def __init__(self, params, lr: float = 0.1, eps: float = 1e-6, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr=lr, eps=eps, weight_decay=weight_decay)

    def update(self, group, param, grad, state) -> None:
        (s,) = self._zeros(state, param, "s")
        s.add_(grad * grad)
        param -= group["lr"] * grad / torch.sqrt(s + group["eps"])


class ScratchRMSProp(_BookOptimizer):
    r"""RMSProp, the book's scratch version (section "RMSProp", 11.8 in 0.17 / 12.8 in 1.0)::

        s_t = gamma * s_{t-1} + (1 - gamma) * g_t^2
        x_t = x_{t-1} - eta / sqrt(s_t + eps) * g_t

    A leaky average of squared gradients replaces AdaGrad's sum. ``torch.optim.RMSprop`` calls gamma ``alpha`` and
    adds eps outside the square root (``sqrt(s_t) + eps``): with eps 0 the two are the same formula. Defaults: the
    section's airfoil run, lr 0.01 and gamma 0.9; the book's eps 1e-6.
    """

    def __init__(
        self, params, lr: float = 0.01, gamma: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0
    ) -> None:
        super().__init__(params, lr=lr, gamma=gamma, eps=eps, weight_decay=weight_decay)

    def update(self, group, param, grad, state) -> None:
        (s,) = self._zeros(state, param, "s")
        gamma = group["gamma"]
        s.mul_(gamma).add_((1 - gamma) * grad * grad)
        param -= group["lr"] * grad / torch.sqrt(s + group["eps"])


class ScratchAdadelta(_BookOptimizer):
    r"""Adadelta, the book's scratch version (section "Adadelta", 11.9 in 0.17 / 12.9 in 1.0)::

        s_t       = rho * s_{t-1} + (1 - rho) * g_t^2
        g'_t      = sqrt(delta_{t-1} + eps) / sqrt(s_t + eps) * g_t
        x_t       = x_{t-1} - eta * g'_t
        delta_t   = rho * delta_{t-1} + (1 - rho) * g'_t^2

    Adadelta has no learning rate of its own: the rescaled step g'_t comes from the leaky averages of the squared
    gradients (s) and of the squared steps (delta). ``eta`` (default 1, the book's method) is the multiplier
    ``torch.optim.Adadelta`` calls ``lr``; torch's algorithm is the same. Defaults: the section's rho 0.9, its
    eps 1e-5.
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-5, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)

    def update(self, group, param, grad, state) -> None:
        s, delta = self._zeros(state, param, "s", "delta")
        rho, eps = group["rho"], group["eps"]
        s.mul_(rho).add_((1 - rho) * grad * grad)
        rescaled = torch.sqrt(delta + eps) / torch.sqrt(s + eps) * grad
        param -= group["lr"] * rescaled
        delta.mul_(rho).add_((1 - rho) * rescaled * rescaled)


class ScratchAdam(_BookOptimizer):
    r"""Adam with bias correction, the book's scratch version (section "Adam", 11.10 in 0.17 / 12.10 in 1.0)::

        v_t = beta1 * v_{t-1} + (1 - beta1) * g_t
        s_t = beta2 * s_{t-1} + (1 - beta2) * g_t^2
        v_hat = v_t / (1 - beta1^t),   s_hat = s_t / (1 - beta2^t)
        x_t = x_{t-1} - eta * v_hat / (sqrt(s_hat) + eps)

    ``torch.optim.Adam`` is the same algorithm (its default eps is 1e-8, the book's 1e-6). Defaults: the section's
    airfoil run, lr 0.01, betas (0.9, 0.999), eps 1e-6.
    """

    def __init__(
        self,
        params,
        lr: float = 0.01,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)

    def update(self, group, param, grad, state) -> None:
        v, s = self._zeros(state, param, "v", "s")
        t = self._tick(state)
        beta1, beta2 = group["betas"]
        v.mul_(beta1).add_((1 - beta1) * grad)
        self.second_moment(s, grad, beta2)
        v_hat = v / (1 - beta1**t)
        s_hat = s / (1 - beta2**t)
        param -= group["lr"] * v_hat / (torch.sqrt(s_hat) + group["eps"])

    @staticmethod
    def second_moment(s: torch.Tensor, grad: torch.Tensor, beta2: float) -> None:
        """Adam: s_t = beta2 * s_{t-1} + (1 - beta2) * g_t^2, in place."""
        s.mul_(beta2).add_((1 - beta2) * grad * grad)


class Yogi(ScratchAdam):
    r"""Yogi, the book's scratch version (section "Adam", 11.10 in 0.17 / 12.10 in 1.0): Adam with the second
    moment updated by the sign of its error, so it cannot forget large past gradients too quickly::

        s_t = s_{t-1} + (1 - beta2) * g_t^2 * sign(g_t^2 - s_{t-1})

    and otherwise Adam's update with bias correction. torch has no Yogi. Defaults: the section's run, lr 0.01,
    betas (0.9, 0.999), and its eps 1e-3 (the book omits Yogi's initialisation of s on a larger batch; so does
    this).
    """

    def __init__(
        self,
        params,
        lr: float = 0.01,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-3,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    @staticmethod
    def second_moment(s: torch.Tensor, grad: torch.Tensor, beta2: float) -> None:
        square = grad * grad
        s.add_((1 - beta2) * torch.sign(square - s) * square)


# --- their names: --model.optimizer NAME ----------------------------------------------------------------------

_BOOK = "the book's scratch"
register_optimizer(
    "sgd-scratch", ScratchSGD, options=("weight_decay",), args=(), description=f"{_BOOK} minibatch SGD, zoo.optim"
)
register_optimizer(
    "momentum-scratch", ScratchMomentum, options=("momentum", "weight_decay"), args=(), description=f"{_BOOK} momentum"
)
register_optimizer(
    "nesterov-scratch",
    ScratchNesterov,
    options=("momentum", "weight_decay"),
    args=(),
    description="Nesterov momentum from its formula",
)
register_optimizer(
    "adagrad-scratch", ScratchAdaGrad, options=("weight_decay",), args=("eps",), description=f"{_BOOK} AdaGrad"
)
register_optimizer(
    "rmsprop-scratch",
    ScratchRMSProp,
    options=("weight_decay",),
    args=("gamma", "eps"),
    description=f"{_BOOK} RMSProp",
)
register_optimizer(
    "adadelta-scratch",
    ScratchAdadelta,
    options=("weight_decay",),
    args=("rho", "eps"),
    description=f"{_BOOK} Adadelta",
)
register_optimizer(
    "adam-scratch", ScratchAdam, options=("weight_decay",), args=("betas", "eps"), description=f"{_BOOK} Adam"
)
register_optimizer("yogi-scratch", Yogi, options=("weight_decay",), args=("betas", "eps"), description=f"{_BOOK} Yogi")
