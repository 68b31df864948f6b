"""Build the bundled demo sample from the birds-ic-mturk5 Ground Truth job (Apache-2.0).

Input: ../shared/datasets/groundtruth/birds-ic-mturk5 (the AWS "Understanding Annotation
Consolidation" notebook data). Output: consolidation/data/birds/, a compact derivative:

- consolidation-request-iteration-{1,2}.json: the post-annotation Lambda payloads the service
  would have sent for the two batches (10 then 292 objects), built from the worker-response files
  (content = the answer JSON as a string, as in reference section 4.2);
- input.manifest: the job's input manifest (source-ref only, in datasetObjectId order);
- output.manifest: the service's own output manifest (unchanged);
- gold.csv: datasetObjectId,label with the true class name (Open Images).
"""

from __future__ import annotations

import csv
import gzip
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = (
    Path(sys.argv[1])
    if len(sys.argv) > 1
    else REPO.parent / "shared/datasets/groundtruth/birds-ic-mturk5"
)
OUT = REPO / "consolidation" / "data" / "birds"
CLASSES = ["Duck", "Sparrow", "Woodpecker", "Owl", "Parrot",
           "Turkey", "Falcon", "Swan", "Goose", "Canary"]  # fmt: skip


def main() -> None:
    """Write the sample files into consolidation/data/birds."""
    OUT.mkdir(parents=True, exist_ok=True)
    lines = (SRC / "output.manifest").read_text().splitlines()
    for it in (1, 2):
        payload = []
        folder = SRC / "worker-response" / f"iteration-{it}"
        for obj in sorted(folder.iterdir(), key=lambda p: int(p.name)):
            (response,) = list(obj.iterdir())
            answers = json.loads(response.read_text())["answers"]
            source_ref = json.loads(lines[int(obj.name)])["source-ref"]
            payload.append(
                {
                    "datasetObjectId": obj.name,
                    "dataObject": {"s3Uri": source_ref},
                    "annotations": [
                        {
                            "workerId": a["workerId"],
                            "annotationData": {
                                "content": json.dumps(a["answerContent"], separators=(",", ":"))
                            },
                        }
                        for a in answers
                    ],
                }
            )
        with gzip.open(OUT / f"consolidation-request-iteration-{it}.json.gz", "wt") as fh:
            json.dump(payload, fh, separators=(",", ":"))
    with gzip.open(OUT / "input.manifest.gz", "wt") as fh:
        for line in lines:
            fh.write(json.dumps({"source-ref": json.loads(line)["source-ref"]}) + "\n")
    with gzip.open(OUT / "output.manifest.gz", "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    with open(SRC / "gold.csv") as fh, open(OUT / "gold.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["item", "label"])
        for row in csv.DictReader(fh):
            writer.writerow([row["item"], CLASSES[int(row["label"])]])
    (OUT / "classes.json").write_text(json.dumps(CLASSES) + "\n")


if __name__ == "__main__":
    main()
