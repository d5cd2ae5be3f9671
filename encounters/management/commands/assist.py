"""The coding assistant from the command line: suggest, evaluate, train (issue 8)."""

import json
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Coding assistant: suggest codes for a note, evaluate on CodiEsp, train the ranker."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        suggest = sub.add_parser("suggest", help="Suggestions for one plain-text note.")
        suggest.add_argument("file", help="A plain-text note.")
        suggest.add_argument("--json", action="store_true", help="Print JSON.")
        suggest.add_argument("--date", help="Date of service (YYYY-MM-DD), default today.")
        suggest.add_argument(
            "--procedures", choices=["icd10pcs", "hcpcs"], help="Also suggest procedures."
        )
        evaluate = sub.add_parser("evaluate", help="MAP and micro P/R/F1 on a CodiEsp split.")
        evaluate.add_argument("--split", default="dev", choices=["dev", "train", "test"])
        evaluate.add_argument("--file", help="A jsonl(.gz) of {id, text_en, diagnosis_codes}.")
        evaluate.add_argument("--limit", type=int, help="Only the first N documents.")
        evaluate.add_argument("--json", action="store_true", help="Print JSON.")
        sub.add_parser("rates", help="Acceptance rate per coder and code, as JSON.")
        train = sub.add_parser("train", help="Learn weights.json from CodiEsp train (dev tunes).")
        train.add_argument("--limit", type=int, help="Only the first N documents of each split.")

    def handle(self, *args, **options):
        getattr(self, f"_{options['action']}")(options)

    def _suggest(self, options):
        from encounters.assist.services import suggest_text

        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        try:
            on = date.fromisoformat(options["date"]) if options["date"] else None
        except ValueError as exc:
            raise CommandError(f"--date: {exc}") from exc
        rows = suggest_text(
            path.read_text(encoding="utf-8", errors="replace"),
            on=on,
            procedure_system=options["procedures"],
        )
        if options["json"]:
            keys = ("system", "code", "description", "confidence", "evidence", "negated")
            self.stdout.write(json.dumps({"suggestions": [{k: r[k] for k in keys} for r in rows]}))
            return
        for row in rows:
            flag = " (negated)" if row["negated"] else ""
            quote = row["evidence"][0]["text"] if row["evidence"] else ""
            self.stdout.write(
                f"{row['confidence']:.2f}  {row['code']:<9} {row['description'][:60]}{flag}"
                f'  "{quote}"'
            )

    def _rates(self, options):
        from encounters.assist.services import acceptance_rates

        self.stdout.write(json.dumps({"rates": acceptance_rates()}))

    def _documents(self, options, split):
        from encounters.assist.evaluation import load_split

        path = Path(options["file"]) if options.get("file") else None
        try:
            documents = load_split(split, path)
        except FileNotFoundError as exc:
            raise CommandError(f"No CodiEsp {split} split: {exc}") from exc
        return documents[: options["limit"]] if options.get("limit") else documents

    def _evaluate(self, options):
        from encounters.assist.evaluation import evaluate

        result = evaluate(self._documents(options, options["split"]))
        result["split"] = options["split"]
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        for key, value in result.items():
            self.stdout.write(f"{key}: {value}")

    def _train(self, options):
        from encounters.assist import ranking
        from encounters.assist.evaluation import evaluate, train

        train_docs = self._documents(options, "train")
        dev_docs = self._documents(options, "dev")
        model = train(train_docs, dev_docs, log=self.stdout.write)
        ranking.WEIGHTS_PATH.write_text(json.dumps(model, indent=1, sort_keys=True) + "\n")
        ranking.reset_model()
        self.stdout.write(f"Wrote {ranking.WEIGHTS_PATH}: {json.dumps(model['weights'])}")
        self.stdout.write(json.dumps(evaluate(dev_docs)))
