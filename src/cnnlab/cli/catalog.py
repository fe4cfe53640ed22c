"""`cnnlab studies`, `cnnlab models`, `cnnlab datasets`, `cnnlab analyses`, `cnnlab settings` and
`cnnlab inspect`: what there is to run, and with what."""

import json

from cnnlab.errors import UserError


def _print_json(obj):
    print(json.dumps(obj, indent=2, default=str))


def cmd_studies(args):
    from cnnlab.console import studies_table
    from cnnlab.studies.loader import load_builtin_studies

    studies = sorted(load_builtin_studies(check_models=False), key=lambda s: (s.reference, s.name))
    if args.json:
        print(json.dumps([{**s.to_dict(), "runs": s.run_count} for s in studies], indent=2))
        return 0
    for line in studies_table(studies):
        print(line)
    return 0


def cmd_datasets(args):
    from cnnlab.console import datasets_table
    from cnnlab.data import data_root, dataset_rows

    rows = dataset_rows(args.data_dir)
    if args.json:
        _print_json(rows)
        return 0
    for line in datasets_table(rows):
        print(line)
    folder = data_root(args.data_dir)
    if not folder.is_dir():
        print(f"\nThe data folder {folder} does not exist: only the bundled and generated datasets are there. "
              "--data-dir names a folder with MNIST/, FashionMNIST/, cifar-10-batches-py/ or cifar10-jpeg.tar.gz.")
    return 0


def cmd_analyses(args):
    from cnnlab.plugins import analyses

    rows = [{"name": a.name, "description": a.description, "after_divergence": a.after_divergence,
             "metrics": [m.name for m in a.metrics], "section": a.title} for a in analyses()]
    if args.json:
        _print_json(rows)
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"{r['name']:{width}}  {r['description']}")
    print("\nA study lists the ones it runs in `analyses = [...]`; `cnnlab run --analyses A,B` replaces them.")
    return 0


def cmd_settings(args):
    from cnnlab import settings

    rows = [{"name": s.name, "default": s.default, "default_text": s.default_text, "takes": s.expected(), "flag": s.cli_flag,
             "where": list(s.scopes), "in_study_file": s.instead or None, "help": s.help}
            for s in (*settings.TRAINING, *settings.SIZE)]
    if args.json:
        _print_json(rows)
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        where = ", ".join(r["where"]) + (f"; study file: {r['in_study_file']}" if r["in_study_file"] else "")
        print(f"{r['name']:{width}}  default {r['default_text']}; {r['takes']}; {where}\n{'':{width}}  {r['help']}")
    print("\nA study file sets the training settings in [train] (a model its regularisation in [[models]].train), "
          "the sizes at its top level and in [profiles.quick]; "
          "`cnnlab train` and `cnnlab run` take them as flags, cnnlab.train_model and cnnlab.run as keywords.")
    return 0


def cmd_models(args):
    from cnnlab.cli.model_table import format_models_table, model_rows

    rows = model_rows()
    if args.json:
        _print_json(rows)
    else:
        print(format_models_table(rows))
    return 0


def cmd_inspect(args):
    from cnnlab.cli.inspect_table import format_inspect_table, inspect_model
    from cnnlab.models import check_model, create_model, list_models

    from cnnlab.models.user_code import is_reference, register_reference

    if is_reference(args.model):
        register_reference(args.model, args.model, base=".")
    elif args.model not in list_models():
        raise UserError(f"unknown model {args.model!r}; valid models: {', '.join(list_models())}, or your own as "
                        "file.py:Name")
    try:
        check_model(args.model, args.in_shape, args.num_classes)  # shapes only: no memory, no time
    except ValueError as e:
        raise UserError(f"{args.model} for {'x'.join(map(str, args.in_shape))} inputs and {args.num_classes} "
                        f"classes: {e}") from None
    model = create_model(args.model, in_shape=args.in_shape, num_classes=args.num_classes)
    info = inspect_model(model, args.in_shape)
    if args.time:
        from cnnlab.analyses.inference.measure import measure_blocks
        from cnnlab.train import resolve_device

        device = resolve_device(args.device)
        info["blocks"] = measure_blocks(model, args.in_shape, device=device, batch_size=args.batch_size,
                                        repeats=args.repeats, precision=args.precision)
    if args.json:
        _print_json(info)
        return 0
    print(f"{args.model} for {'x'.join(map(str, args.in_shape))} inputs and {args.num_classes} classes "
          "(--in-shape C,H,W and --num-classes N change them; MNIST: --in-shape 1,28,28)")
    print(format_inspect_table(info["rows"], info["total_params"], info["total_macs"]))
    if args.time:
        from cnnlab.cli.inspect_table import format_block_times

        print()
        print(format_block_times(info["blocks"], info["rows"]))
    return 0


def cmd_check_layer(args):
    import inspect

    import torch

    from cnnlab.console import layer_check_lines
    from cnnlab.models.check_layer import check_layer
    from cnnlab.models.user_code import load_object

    layer = load_object(args.layer, ".")
    if args.kwargs is not None:
        if not inspect.isclass(layer):
            raise UserError(f"--kwargs builds a class, and {args.layer} is not one")
        try:
            layer = layer(**args.kwargs)
        except Exception as e:
            raise UserError(f"building {args.layer} with --kwargs: {type(e).__name__}: {e}") from None
    reference = load_object(args.reference, ".") if args.reference else None
    if inspect.isclass(reference) and issubclass(reference, torch.nn.Module) and args.kwargs is not None:
        try:  # an analog layer takes the same arguments (CustomConv2d and nn.Conv2d)
            reference = reference(**args.kwargs)
        except Exception as e:
            raise UserError(f"building the reference {args.reference} with --kwargs: {type(e).__name__}: {e}") from None
    inputs = [torch.randn(*shape) for shape in args.shape]
    try:
        result = check_layer(layer, *inputs, reference=reference, repeats=args.repeats)
    except Exception as e:
        raise UserError(f"{args.layer} on inputs of shape {', '.join('x'.join(map(str, s)) for s in args.shape)}: "
                        f"{type(e).__name__}: {e}") from None
    for line in layer_check_lines(result):
        print(line)
    return 0 if result.passed else 1
