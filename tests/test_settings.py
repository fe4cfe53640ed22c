"""Every training setting is declared once (cnnlab.settings): the parser, the study-file checks,
TrainConfig and the Python API accept exactly the declared settings of their scope, and reject the
rest with the messages the declaration makes."""

import dataclasses
import re
from pathlib import Path

import pytest

import cnnlab
from cnnlab import settings
from cnnlab.cli import build_parser
from cnnlab.errors import UserError
from cnnlab.studies.loader import parse_study
from cnnlab.train.config import TrainConfig

SETTINGS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


def _flags(command: str) -> dict[str, str]:
    """dest -> flag of every option of `cnnlab COMMAND`."""
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices[command]
    return {a.dest: a.option_strings[0] for a in sub._actions if a.option_strings}


def _a_valid_other_value(setting):
    """A value the setting takes that is not its default."""
    if setting.kind is bool:
        return not setting.default
    if setting.choices:
        return next(c for c in setting.choices if c != setting.default)
    if setting.kind is int:
        return setting.default + 1
    return setting.default / 2 if setting.default else min(setting.high, 0.5)


def _study(train=None, model_train=None):
    model = {"name": "fc", **({"train": model_train} if model_train is not None else {})}
    return {"name": "s", "dataset": "synthetic", "epochs": 1, "models": [model], "train": train or {}}


def test_train_config_has_one_field_per_declared_setting_with_its_default():
    assert [(f.name, f.default) for f in dataclasses.fields(TrainConfig)] == \
        [(s.name, s.default) for s in settings.TRAINING]


@pytest.mark.parametrize("command,scope", [("train", settings.TRAIN_COMMAND), ("run", settings.RUN_COMMAND)])
def test_the_parser_has_a_flag_for_exactly_the_settings_of_its_command(command, scope):
    flags = _flags(command)
    declared = {s.name: s.cli_flag for s in settings.in_scope(scope)}
    assert {dest: flags[dest] for dest in declared} == declared  # each under the declared flag
    others = {s.name for s in settings.TRAINING} - set(declared) - {"epochs"}  # run's --epochs sizes the study
    assert not others & set(flags), f"cnnlab {command} has flags for settings outside its scope"
    for setting in settings.in_scope(scope):  # a given value reaches the settings as typed
        value = _a_valid_other_value(setting)
        argv = [command] + (["mnist-fc-vs-cnn"] if command == "run" else [])
        argv += [setting.cli_flag] if setting.kind is bool else [setting.cli_flag, str(value)]
        assert getattr(build_parser().parse_args(argv), setting.name) == value


@pytest.mark.parametrize("scope,key", [(settings.TRAIN_TABLE, "train"), (settings.MODEL_TABLE, "models[0].train")])
def test_a_study_table_accepts_exactly_the_settings_of_its_scope(scope, key):
    for setting in settings.TRAINING:
        value = _a_valid_other_value(setting)
        raw = _study(train={setting.name: value}) if scope == settings.TRAIN_TABLE else \
            _study(model_train={setting.name: value})
        if scope in setting.scopes:
            study = parse_study(raw, "s.toml", check_models=False)
            table = study.train if scope == settings.TRAIN_TABLE else study.models[0].train
            assert table == {setting.name: value}
        else:
            with pytest.raises(UserError, match=rf"s\.toml: key '{re.escape(key)}\.{setting.name}': "):
                parse_study(raw, "s.toml", check_models=False)
    with pytest.raises(UserError, match=rf"key '{re.escape(key)}.batch_sise': unknown training option; valid: "):
        parse_study(_study(train={"batch_sise": 3}) if scope == settings.TRAIN_TABLE else
                    _study(model_train={"batch_sise": 3}), "s.toml", check_models=False)


def test_every_bad_value_gets_the_declarations_message_wherever_it_is_given():
    for setting in settings.TRAINING:
        bad = "x" if setting.kind is not str else "no-such-" + setting.name
        with pytest.raises(settings.SettingError) as declared:
            setting.check(bad)
        if settings.TRAIN_TABLE in setting.scopes:
            with pytest.raises(UserError) as study:
                parse_study(_study(train={setting.name: bad}), "s.toml", check_models=False)
            assert str(study.value) == f"s.toml: key 'train.{setting.name}': {declared.value}"
        if settings.TRAIN_COMMAND in setting.scopes:
            with pytest.raises(UserError) as api:
                cnnlab.train_model("fc", "synthetic", **{setting.name: bad})
            assert str(api.value).startswith(str(declared.value).split("; ")[0])
            assert f"({setting.name}=)" in str(api.value)


def test_numbers_out_of_bounds_fail_at_every_door():
    lr = settings.BY_NAME["lr"]
    for value in (0, -1e-3, 11, float("nan"), float("inf")):
        with pytest.raises(settings.SettingError, match=r"must be a number in \(0, 10\]"):
            lr.check(value)
    with pytest.raises(UserError, match=r"lr: must be a number in \(0, 10\], got 0"):
        TrainConfig(lr=0)
    assert lr.check(1) == 1.0 and isinstance(lr.check(1), float)  # TOML's 1 is the number 1.0
    with pytest.raises(settings.SettingError, match="expected a number in"):
        lr.check(True)


def test_the_run_flags_of_a_sized_study_give_its_training_settings_back():
    from cnnlab.studies.options import StudyOptions

    given = {"grad_clip": 0.123456789, "cuda_graphs": False, "precision": "fp32"}
    args = build_parser().parse_args(["run", "mnist-fc-vs-cnn", *StudyOptions(train=given).run_flags()])
    assert (args.grad_clip, args.cuda_graphs, args.precision) == (0.123456789, False, "fp32")  # not rounded


def test_the_settings_page_lists_the_settings_as_declared():
    assert settings.table_markdown() in SETTINGS_PAGE.read_text(encoding="utf-8"), \
        "docs/settings.md: paste cnnlab.settings.table_markdown() there"




@pytest.mark.parametrize("setting", settings.SIZE, ids=lambda s: s.name)
def test_a_size_is_declared_once_for_study_files_profiles_flags_and_keywords(setting):
    too_big = setting.high + 1
    with pytest.raises(settings.SettingError) as declared:
        setting.check(too_big)
    for raw, key in ((_study() | {setting.name: too_big}, setting.name),
                     (_study() | {"profiles": {"quick": {setting.name: too_big}}}, f"profiles.quick.{setting.name}")):
        with pytest.raises(UserError) as study:
            parse_study(raw, "s.toml", check_models=False)
        assert str(study.value) == f"s.toml: key '{key}': {declared.value}"
    for command in ("train", "run"):
        assert _flags(command)[setting.name] == setting.cli_flag
    with pytest.raises(UserError) as api:
        cnnlab.train_model("fc", "synthetic", **{setting.name: too_big})
    assert str(api.value) == f"{declared.value} ({setting.name}=)"
    assert parse_study(_study() | {setting.name: 2}, "s.toml", check_models=False).__getattribute__(setting.name) == 2
