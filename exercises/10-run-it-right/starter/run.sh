#!/bin/sh
# The image is built for you as "trainer". Write the one docker run command that:
#   - removes the container when it exits,
#   - sets EPOCHS=3 and LEARNING_RATE=0.1 in its environment,
#   - passes --seed 7 to train.py.
docker run trainer
