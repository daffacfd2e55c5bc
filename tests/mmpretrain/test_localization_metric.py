import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.registry import METRICS, MODELS
from mmpretrain.structures import DataSample

import aib_plugin.mmpretrain  # noqa: F401  (registers the metric)


def _sample(attention: np.ndarray, box, shape=(64, 64)) -> dict:
    return dict(attention_map=torch.from_numpy(attention), gt_bbox=np.asarray(box), ori_shape=shape)


def test_metric_on_hand_made_maps():
    good = np.zeros((8, 8))
    good[2:5, 1:4] = 1.0  # pixels 16..40 x 8..32 at 64x64
    wrong = np.zeros((8, 8))
    wrong[7, 7] = 1.0
    box = (8, 16, 32, 40)
    metric = METRICS.build(dict(type="LocalizationMetric"))
    evaluator = Evaluator(metric)
    evaluator.process([_sample(good, box), _sample(wrong, box)])
    scores = evaluator.evaluate(2)
    assert scores["localization/pointing_game"] == pytest.approx(50.0)
    assert scores["localization/box_acc"] == pytest.approx(50.0)
    assert 40.0 < scores["localization/energy_in_box"] < 60.0
    # MaxBoxAccV2, a percentage too: the good map matches at IoU 0.3, 0.5 and 0.7
    assert scores["localization/max_box_acc_v2"] == pytest.approx(50.0)


def test_metric_max_box_acc_v2_counts_every_contour():
    saliency = np.zeros((64, 64))
    saliency[30:64, 34:64] = 1.0  # the largest region, away from the box
    saliency[2:12, 2:12] = 1.0  # a small region exactly on the box
    box = (2, 2, 12, 12)
    evaluator = Evaluator(METRICS.build(dict(type="LocalizationMetric")))
    evaluator.process([_sample(saliency, box)])
    scores = evaluator.evaluate(1)
    assert scores["localization/box_acc"] == 0.0  # the largest region only
    assert scores["localization/max_box_acc_v2"] == pytest.approx(100.0)


def test_metric_names_missing_fields():
    metric = METRICS.build(dict(type="LocalizationMetric"))
    with pytest.raises(KeyError, match="gt_bbox"):
        metric.process(None, [dict(attention_map=torch.zeros(4, 4), ori_shape=(8, 8))])
    with pytest.raises(ValueError, match="thresholds"):
        METRICS.build(dict(type="LocalizationMetric", thresholds=()))


def test_ib_classifier_predictions_carry_attention_maps():
    model = MODELS.build(
        dict(
            type="IBImageClassifier",
            backbone=dict(type="ResNet_CIFAR", depth=18, base_channels=8, out_indices=(3,)),
            neck=dict(type="IBAttention", in_channels=64, bottleneck_dim=16),
            head=dict(type="LinearClsHead", num_classes=10, in_channels=16),
        )
    ).eval()
    samples = [DataSample().set_gt_label(1), DataSample().set_gt_label(2)]
    with torch.no_grad():
        predictions = model(torch.randn(2, 3, 32, 32), samples, mode="predict")
    for prediction in predictions:
        assert prediction.attention_map.shape == (4, 4)
        assert (
            0.0 < float(prediction.attention_map.min()) <= float(prediction.attention_map.max()) < 1
        )


def _evaluate(samples: list[dict], **options) -> dict[str, float]:
    evaluator = Evaluator(METRICS.build(dict(type="LocalizationMetric", **options)))
    evaluator.process(samples)
    return evaluator.evaluate(len(samples))


def test_metric_points_at_the_peak_cell_centre_by_default():
    corner = np.zeros((4, 4))
    corner[0, 0] = 1.0  # cell x, y in [0, 16) at 64x64; its centre is (7.5, 7.5)
    samples = [_sample(corner, (5, 5, 11, 11))]  # an object inside the top-left cell
    assert _evaluate(samples)["localization/pointing_game"] == 100.0
    # the upsampled map's first maximal pixel is (0, 0), outside the object's box
    assert _evaluate(samples, peak="argmax")["localization/pointing_game"] == 0.0
    far = [_sample(corner, (30, 5, 40, 11))]  # 22 px right of the cell centre
    assert _evaluate(far)["localization/pointing_game"] == 0.0
    assert _evaluate(far, pointing_tolerance=22)["localization/pointing_game"] == 100.0


def test_metric_takes_wsolevaluation_conventions():
    saliency = np.zeros((64, 64))
    saliency[2:62, 2:62] = 1.5 / 255  # uint8 level 1 everywhere but the border
    saliency[20:40, 20:40] = 2.5 / 255  # uint8 level 2: only a level the 0.01 grid skips
    saliency[29:31, 29:31] = 1.0
    samples = [_sample(saliency, (20, 20, 40, 40))]
    assert _evaluate(samples)["localization/max_box_acc_v2"] == 0.0
    fine = _evaluate(samples, upsample="bicubic", cam_curve_interval=0.001)
    assert fine["localization/max_box_acc_v2"] == pytest.approx(100.0)


@pytest.mark.parametrize(
    "options, match",
    [
        (dict(upsample="nearest"), r"upsample must be one of \('bilinear', 'bicubic'\)"),
        (dict(peak="centre"), r"peak must be one of \('cell', 'upsampled', 'argmax'\)"),
        (dict(pointing_tolerance=-15), "tolerance must be a finite number >= 0"),
        (dict(cam_curve_interval=0.0), r"cam_curve_interval must lie in \(0, 1\), got 0.0"),
    ],
)
def test_metric_refuses_bad_conventions(options, match):
    with pytest.raises(ValueError, match=match):
        METRICS.build(dict(type="LocalizationMetric", **options))
