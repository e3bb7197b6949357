"""Tabular data and models: the book's Kaggle house prices (preprocessing, K-fold, log-RMSE, submission),
the generic CSV table, the binary classifier, and the ``kfold`` command, on tiny fixtures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import (
    TEST_CSV,
    TRAIN_CSV,
    assert_loss_falls,
    config,
    quiet_trainer,
    sha1,
    write_diabetes,
    write_house_csvs,
)
from torch import nn

from datamodules.download import DataError
from datamodules.tables.csv_table import CSVTable, get_k_fold_data
from datamodules.tables.kaggle_house import KaggleHouse, preprocess, read_house_csv
from zoo.core.base import BinaryClassifier
from zoo.core.callbacks import PredictionWriter
from zoo.course.diabetes import BinaryMLP
from zoo.mlp.house_prices import HousePriceRegression, LogRMSE, log_rmse

# --- Kaggle house prices: preprocessing ----------------------------------------------------------


def test_preprocessing_is_the_books(tmp_path):
    train_path, test_path = write_house_csvs(tmp_path)
    train_data, test_data = read_house_csv(train_path), read_house_csv(test_path)
    train, test = preprocess(train_data, test_data)
    both = pd.concat([train, test])
    assert list(train.columns) == list(test.columns) and len(train) == 40 and len(test) == 10
    assert "Id" not in both and "SalePrice" not in both
    assert all(dtype == np.float32 for dtype in both.dtypes)
    # numeric columns: standardised over train + test together, missing values -> 0 (the mean)
    raw = pd.concat([train_data["LotArea"], test_data["LotArea"]]).to_numpy(float)
    expected = (raw - raw.mean()) / raw.std(ddof=1)
    np.testing.assert_allclose(both["LotArea"].to_numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose([both["LotArea"].mean(), both["LotArea"].std()], [0, 1], atol=1e-5)
    assert both["LotFrontage"].iloc[[1, 7, 42]].tolist() == [0, 0, 0] and not both.isna().any().any()
    assert set(both["MSSubClass"].round(4).unique()) != {20, 60}  # numeric codes are standardised, not one-hot
    # categories: one-hot, with an indicator for missing; "None" is a category (as with the book's pandas)
    zoning = ["MSZoning_C (all)", "MSZoning_RL", "MSZoning_RM", "MSZoning_nan"]
    assert [c for c in both if c.startswith("MSZoning")] == zoning
    assert both[zoning].sum(axis=1).eq(1).all()
    assert train["MSZoning_C (all)"].eq(0).all() and test["MSZoning_C (all)"].iloc[1] == 1  # test-only value
    assert train_data["MSZoning"].isna().sum() == train["MSZoning_nan"].sum() > 0
    assert {"MasVnrType_None", "MasVnrType_nan"} <= set(both) and both["MasVnrType_None"].sum() > 0
    assert both.shape[1] == 1 + 1 + 1 + len(zoning) + 4  # 3 numeric, 4 zoning, 3 veneer types + nan


def test_kaggle_house_datamodule_folds_and_test_houses(tiny_house):
    data = KaggleHouse(download=False)
    data.prepare_data()
    data.setup()
    X, y = data.train_set.tensors
    assert X.dtype == y.dtype == torch.float32 and y.shape == (40, 1) and data.num_inputs == X.shape[1]
    assert y.min() > 50000  # prices, not logs
    assert data.val_dataloader() == [] and data.test_ids == list(range(41, 51))
    assert len(data.predict_dataloader().dataset) == 10
    with pytest.raises(ValueError, match="no prices"):
        data.test_dataloader()
    fold = KaggleHouse(num_folds=4, fold=1)
    fold.setup()
    assert len(fold.train_set) == 30 and len(fold.val_set) == 10
    torch.testing.assert_close(fold.val_set.tensors[0], X[10:20])  # the book's contiguous slice


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_folds=5, fold=5), "fold must be"),
        (dict(num_folds=1, fold=0), "num_folds"),
        (dict(batch_size=0), "batch_size"),
    ],
)
def test_bad_fold_settings_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KaggleHouse(**kwargs)


# --- K-fold split --------------------------------------------------------------------------------


def book_get_k_fold_data(k, i, X, y):
    """The book's code, verbatim in substance (it drops the n % k leftover rows)."""
    fold_size = X.shape[0] // k
    X_train, y_train = None, None
    for j in range(k):
        idx = slice(j * fold_size, (j + 1) * fold_size)
        X_part, y_part = X[idx, :], y[idx]
        if j == i:
            X_valid, y_valid = X_part, y_part
        elif X_train is None:
            X_train, y_train = X_part, y_part
        else:
            X_train, y_train = torch.cat([X_train, X_part], 0), torch.cat([y_train, y_part], 0)
    return X_train, y_train, X_valid, y_valid


@pytest.mark.parametrize("n, k", [(10, 2), (10, 5), (11, 3), (13, 5), (1460, 5)])
def test_k_fold_validates_every_row_exactly_once(n, k):
    X = torch.arange(n, dtype=torch.float32).reshape(-1, 1).repeat(1, 3)
    y = torch.arange(n).reshape(-1, 1)
    seen = []
    for i in range(k):
        X_train, y_train, X_valid, y_valid = get_k_fold_data(k, i, X, y)
        rows_train, rows_valid = y_train.ravel().tolist(), y_valid.ravel().tolist()
        assert sorted(rows_train + rows_valid) == list(range(n))  # disjoint, and together all rows
        assert rows_valid == list(range(rows_valid[0], rows_valid[0] + len(rows_valid)))  # contiguous
        assert torch.equal(X_valid[:, 0].long(), y_valid.ravel())
        seen += rows_valid
        if n % k == 0:  # then identical to the book's split
            for ours, books in zip((X_train, y_train, X_valid, y_valid), book_get_k_fold_data(k, i, X, y)):
                assert torch.equal(ours, books)
    assert seen == list(range(n))
    with pytest.raises(ValueError, match="at least 2"):
        get_k_fold_data(1, 0, X, y)


# --- log-RMSE ------------------------------------------------------------------------------------


def test_log_rmse_matches_a_hand_computation():
    preds = torch.tensor([[0.5], [100.0], [1000.0], [-20.0]])  # 0.5 and -20 are clamped to 1
    labels = torch.tensor([[2.0], [100.0], [500.0], [1.0]])
    by_hand = math.sqrt((math.log(1 / 2) ** 2 + 0 + math.log(1000 / 500) ** 2 + 0) / 4)
    assert log_rmse(preds, labels).item() == pytest.approx(by_hand, rel=1e-6)
    metric = LogRMSE()  # over batches: the RMSE of all rows, not a mean of batch RMSEs
    metric.update(preds[:1], labels[:1])
    metric.update(preds[1:], labels[1:])
    assert metric.compute().item() == pytest.approx(by_hand, rel=1e-6)


# --- house price model ---------------------------------------------------------------------------


def test_house_price_net_shapes_and_variants():
    assert [type(m) for m in HousePriceRegression(num_inputs=331).net] == [nn.Linear]
    mlp = HousePriceRegression(num_inputs=12, num_hiddens=[8, 4])
    assert [m.out_features for m in mlp.net if isinstance(m, nn.Linear)] == [8, 4, 1]
    assert mlp(torch.randn(5, 12)).shape == (5, 1)
    for bad in (dict(num_hiddens=[0]), dict(init="zeros"), dict(num_inputs=0), dict(optimizer="lbfgs")):
        with pytest.raises(ValueError):
            HousePriceRegression(**bad)
    with pytest.raises(RuntimeError, match="num_inputs"):
        HousePriceRegression()(torch.randn(2, 3))


@pytest.mark.parametrize("log_target", [False, True])
def test_house_prices_train_infer_features_log_and_round_trip(tiny_house, tmp_path, log_target):
    torch.manual_seed(0)
    data = KaggleHouse(num_folds=4, fold=0, batch_size=8)
    # Adam, as the book; its lr 5 moves a price by ~5 per weight and step: fine with 331 features, slow with 10
    recipe = dict(lr=0.5) if log_target else dict(lr=2000.0)
    model = HousePriceRegression(log_target=log_target, **recipe)
    trainer = quiet_trainer(tmp_path, max_epochs=30, log_every_n_steps=1)
    trainer.fit(model, data)
    metrics = trainer.callback_metrics
    assert model.hparams.num_inputs == data.num_inputs  # taken from the data at setup
    assert {"train/loss", "train/log_rmse", "val/loss", "val/log_rmse"} <= set(metrics)
    X, y = data.train_set.tensors
    with torch.no_grad():
        assert metrics["train/log_rmse"].item() == pytest.approx(log_rmse(model.price(model(X)), y).item(), rel=1e-4)
        Xv, yv = data.val_set.tensors
        assert metrics["val/log_rmse"].item() == pytest.approx(log_rmse(model.price(model(Xv)), yv).item(), rel=1e-4)
    assert metrics["val/log_rmse"] < 0.5  # prices vary by about 30%: an untrained model scores far worse
    path = tmp_path / "house.ckpt"
    trainer.save_checkpoint(path)
    restored = HousePriceRegression.load_from_checkpoint(path)  # no num_inputs given: it was recorded
    assert restored.log_target == log_target
    torch.testing.assert_close(restored(X), model(X))


def test_house_price_loss_falls(tiny_house):
    torch.manual_seed(0)
    data = KaggleHouse(batch_size=40)
    data.setup()
    X, y = data.train_set.tensors
    model = HousePriceRegression(num_inputs=data.num_inputs, lr=2000.0)  # Adam; see above for the lr
    assert_loss_falls(model, X, y, steps=200, to=0.1)


def test_predict_writes_a_kaggle_submission(tiny_house, tmp_path):
    data = KaggleHouse(batch_size=4)
    model = HousePriceRegression()
    trainer = quiet_trainer(tmp_path, max_epochs=5, callbacks=[PredictionWriter(str(tmp_path / "out"))])
    trainer.fit(model, data)
    preds = torch.cat(trainer.predict(model, data))
    submission = pd.read_csv(tmp_path / "out" / "submission.csv")
    assert list(submission.columns) == ["Id", "SalePrice"]
    assert submission["Id"].tolist() == list(range(41, 51))
    np.testing.assert_allclose(submission["SalePrice"].to_numpy(), preds.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="test Ids"):
        model.write_predictions([preds[:3]], tmp_path, data)


# --- downloads and errors ------------------------------------------------------------------------


def test_published_urls_and_hashes_are_the_d2l_data_hubs():
    files = {f.name: f for f in KaggleHouse.remote_files()}
    assert files[TRAIN_CSV].url == "http://d2l-data.s3-accelerate.amazonaws.com/kaggle_house_pred_train.csv"
    assert files[TRAIN_CSV].known_hash == "sha1:585e9cc93e70b39160e7921475f9bcd7d31219ce"
    assert files[TEST_CSV].known_hash == "sha1:fa19780a7b011d9b009e8bff8e99922a8ee2eb90"


def test_missing_house_data_offline_is_one_clear_error(tmp_path):
    data = KaggleHouse(data_dir=str(tmp_path), mirror=str(tmp_path / "empty-mirror"))
    with pytest.raises(DataError) as err:
        data.prepare_data()
    message = str(err.value)
    assert TRAIN_CSV in message and TEST_CSV in message and "585e9cc93e70b39160e7921475f9bcd7d31219ce" in message
    assert str((tmp_path / "kaggle-house").resolve()) in message
    with pytest.raises(DataError, match="missing"):
        KaggleHouse(data_dir=str(tmp_path), download=False).setup()


def test_house_download_is_hash_checked(tiny_house, tmp_path):
    mirror = tiny_house / "kaggle-house"
    data = KaggleHouse(data_dir=str(tmp_path / "fresh"), mirror=str(mirror))
    data.prepare_data()  # downloads from the local mirror and verifies the SHA-1s
    assert (tmp_path / "fresh" / "kaggle-house" / TRAIN_CSV).read_bytes() == (mirror / TRAIN_CSV).read_bytes()
    (mirror / TEST_CSV).write_text("Id,MSSubClass\n1,20\n")  # the mirror now serves a different file
    with pytest.raises(DataError, match="failed its hash check"):
        KaggleHouse(data_dir=str(tmp_path / "other"), mirror=str(mirror)).prepare_data()
    assert not (tmp_path / "other" / "kaggle-house" / TEST_CSV).exists()
    with pytest.raises(DataError, match="corrupt"):  # and the copy in the data folder is never used
        KaggleHouse(download=False).setup()


# --- generic CSV table ---------------------------------------------------------------------------


def test_csv_table_reads_the_diabetes_format(tmp_path, monkeypatch):
    path = write_diabetes(tmp_path / "data" / "diabetes" / "diabetes.csv.gz")
    monkeypatch.setenv("D2L_ZOO_DATA", str(tmp_path / "data"))
    data = CSVTable(path="diabetes/diabetes.csv.gz", header=False, val_split=0.25)
    data.prepare_data()
    data.setup()
    X, y = data.train_set.tensors
    Xv, yv = data.val_set.tensors
    assert X.dtype == y.dtype == torch.float32 and X.shape == (90, 8) and y.shape == (90, 1) and len(Xv) == 30
    assert set(y.ravel().tolist()) == {0.0, 1.0} and data.num_inputs == 8 and data.test_set is data.val_set
    raw = np.loadtxt(path, delimiter=",", dtype=np.float32)  # the course's own loader
    rows = sorted(map(tuple, torch.cat([torch.cat([X, y], 1), torch.cat([Xv, yv], 1)]).tolist()))
    assert rows == sorted(map(tuple, raw.tolist()))


def test_csv_table_columns_standardisation_and_folds(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame(
        {"a": [1.0, 2, 3, 4, 5, 6], "b": [10.0, 10, 10, 10, 10, 10], "c": [0, 2, 4, 6, 8, 10], "y": 6 * [1]}
    ).to_csv(path, index=False)
    data = CSVTable(path=str(path), label_column="a", feature_columns=["c", 1], standardize=True, num_folds=3, fold=2)
    data.setup()
    X, y = data.train_set.tensors
    assert y.ravel().tolist() == [1, 2, 3, 4]  # folds 0 and 1 train; the label is column "a"
    # standardised with the training rows' mean and std only; the constant column becomes 0
    c_train = torch.tensor([0.0, 2, 4, 6])
    torch.testing.assert_close(X[:, 0], (c_train - c_train.mean()) / c_train.std())
    torch.testing.assert_close(data.val_set.tensors[0][:, 0], (torch.tensor([8.0, 10]) - 3) / c_train.std())
    assert X[:, 1].abs().max() == 0
    whole = CSVTable(path=str(path))  # defaults: the last column is the label, no hold-out
    whole.setup()
    assert whole.num_inputs == 3 and whole.val_dataloader() == [] and len(whole.test_set) == 6


def test_csv_table_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("D2L_ZOO_DATA", str(tmp_path / "data"))
    with pytest.raises(DataError, match="not found"):
        CSVTable(path="nowhere.csv").prepare_data()
    path = write_diabetes(tmp_path / "d.csv.gz", n=10)
    with pytest.raises(DataError, match="corrupt") as err:
        CSVTable(path=str(path), header=False, known_hash="sha1:" + "0" * 40).prepare_data()
    assert "sha1:" + "0" * 40 in str(err.value)
    CSVTable(path=str(path), header=False, known_hash=f"sha1:{sha1(path)}").prepare_data()  # the right hash
    with pytest.raises(ValueError, match="known_hash"):
        CSVTable(path="x.csv", url="https://example.invalid/x.csv")
    with pytest.raises(ValueError, match="no column 'label'"):
        CSVTable(path=str(path), header=False, label_column="label").setup()
    with pytest.raises(ValueError, match="also a feature"):
        CSVTable(path=str(path), header=False, feature_columns=[0, 8]).setup()
    (tmp_path / "words.csv").write_text("a,b\nx,1\ny,0\n")
    with pytest.raises(DataError, match="non-numeric"):
        CSVTable(path="words.csv").setup()


def test_csv_table_downloads_from_a_mirror_with_a_hash(tmp_path):
    mirror = tmp_path / "mirror"
    source = write_diabetes(mirror / "diabetes.csv.gz", n=10)
    data = CSVTable(
        path="diabetes/diabetes.csv.gz",
        header=False,
        url="https://example.invalid/diabetes.csv.gz",
        known_hash=f"sha1:{sha1(source)}",
        data_dir=str(tmp_path / "data"),
        mirror=str(mirror),
    )
    data.prepare_data()
    assert (tmp_path / "data" / "diabetes" / "diabetes.csv.gz").read_bytes() == source.read_bytes()


# --- binary classifier ---------------------------------------------------------------------------


def test_binary_mlp_is_the_courses_network():
    model = BinaryMLP()
    linears = [m for m in model.net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(8, 6), (6, 4), (4, 1)]
    assert [type(m) for m in model.net][1::2] == [nn.Sigmoid, nn.Sigmoid]
    assert model(torch.randn(5, 8)).shape == (5, 1)
    with pytest.raises(ValueError, match="activation"):
        BinaryMLP(activation="tanhh")


def test_bce_with_logits_is_sigmoid_then_bce_loss():
    logits, labels = torch.randn(16, 1) * 3, torch.randint(0, 2, (16,))
    course = nn.BCELoss()(torch.sigmoid(logits), labels.float().reshape(-1, 1))
    torch.testing.assert_close(BinaryClassifier().loss(logits, labels), course)


def test_binary_classifier_trains_scores_and_predicts_0_1(tmp_path):
    write_diabetes(tmp_path / "d.csv.gz", n=200)
    torch.manual_seed(0)
    data = CSVTable(path=str(tmp_path / "d.csv.gz"), header=False, val_split=0.25, batch_size=16)
    model = BinaryMLP(activation="relu", num_hiddens=[16], lr=0.5)
    trainer = quiet_trainer(tmp_path, max_epochs=15, callbacks=[PredictionWriter(str(tmp_path / "out"))])
    trainer.validate(model, data, verbose=False)
    loss_before = trainer.callback_metrics["val/loss"].item()
    trainer.fit(model, data)
    assert trainer.callback_metrics["val/loss"].item() < 0.7 * loss_before
    result = trainer.test(model, data, verbose=False)[0]
    Xv, yv = data.val_set.tensors
    with torch.no_grad():
        by_hand = ((model(Xv) > 0).float() == yv).float().mean().item()
    assert result["test/acc"] == pytest.approx(by_hand) and result["test/acc"] > 0.8
    outputs = trainer.predict(model, data)
    preds = torch.cat([o["preds"] for o in outputs])
    assert set(preds.tolist()) <= {0, 1} and len(preds) == 50
    rows = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
    assert rows[0] == "index,prob,pred,target" and len(rows) == 51


def test_binary_classifier_loss_falls_with_the_courses_network(tmp_path):
    write_diabetes(tmp_path / "d.csv.gz", n=64)
    data = CSVTable(path=str(tmp_path / "d.csv.gz"), header=False)
    data.setup()
    X, y = data.train_set.tensors
    torch.manual_seed(0)
    # 8-6-4-1 sigmoid with SGD, full batch; the course's lr 0.1 sits ~1000 steps on the sigmoid plateau, so lr 1
    assert_loss_falls(BinaryMLP(lr=1.0), X, y, steps=250, to=0.5)


# --- the kfold command ---------------------------------------------------------------------------


def test_kfold_command_runs_every_fold_and_averages(tiny_house, tmp_path, monkeypatch, capsys):
    from cli import _fit_metrics
    from zoo.core.kfold import run_kfold

    def main(argv):
        return run_kfold(_fit_metrics, argv)

    monkeypatch.chdir(tmp_path)
    path = config("kaggle_house")
    result = main(["--config", path, "--k", "2", "--trainer.max_epochs", "1", "--trainer.enable_model_summary=false"])
    assert result["k"] == 2 and len(result["train"]) == len(result["valid"]) == 2
    assert result["train_mean"] == pytest.approx(sum(result["train"]) / 2)
    assert result["valid_mean"] == pytest.approx(sum(result["valid"]) / 2)
    out = capsys.readouterr().out
    assert "fold 2, train log_rmse" in out and f"2-fold validation: avg train log_rmse {result['train_mean']:f}" in out
    assert len(list(tmp_path.glob("lightning_logs/version_*"))) == 2  # one fit per fold
    with pytest.raises(SystemExit, match="at least 2"):
        main(["--config", path, "--k=1"])
    with pytest.raises(SystemExit, match="no \\['train/ppl'"):
        main(["--config", path, "--k", "2", "--metric", "ppl", "--trainer.max_epochs", "1"])


def test_fit_then_predict_from_the_checkpoint_alone_writes_submission(tiny_house, tmp_path, monkeypatch, capsys):
    from cli import run as main

    monkeypatch.chdir(tmp_path)
    fast = ["--trainer.max_epochs", "2", "--trainer.enable_model_summary", "false"]
    main(["fit", "--config", config("kaggle_house"), *fast])
    ckpt = sorted(tmp_path.glob("lightning_logs/version_*/checkpoints/last.ckpt"))[-1]
    cli = main(["predict", "--ckpt_path", str(ckpt)])
    assert type(cli.model).__name__ == "HousePriceRegression" and cli.model.hparams.num_inputs > 0
    out = capsys.readouterr().out
    submission = Path(out.split("wrote ")[-1].strip())
    assert submission.name == "submission.csv"
    assert submission.read_text().splitlines()[0] == "Id,SalePrice" and len(submission.read_text().splitlines()) == 11
