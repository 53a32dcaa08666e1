#!/bin/sh
docker run --rm -e EPOCHS=3 -e LEARNING_RATE=0.1 trainer --seed 7
