"""What each shipped dataset's terms ask of a model trained on it (../shared/README.md says it too).

Task data adapters declare these; exporters put them on the model card (training.engine.export).
"""
CMU = ("The data used in this project was obtained from mocap.cs.cmu.edu. "
       "The database was created with funding from NSF EIA-0196217.")
PENN = ("Penn Action annotations (research use): W. Zhang, M. Zhu, K. Derpanis, \"From Actemes to Action: "
        "A Strongly-supervised Representation for Detailed Action Understanding\", ICCV 2013.")
