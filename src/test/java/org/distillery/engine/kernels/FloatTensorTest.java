package org.distillery.engine.kernels;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import static org.junit.jupiter.api.Assertions.*;

class FloatTensorTest {

    @Test
    void bufferIsAZeroCopyViewOfTheNd4jArray() {
        FloatTensor t = FloatTensor.zeros(2, 3);
        t.set(4, 7f);                                                        // row 1, column 1
        assertEquals(7f, t.nd().getFloat(1, 1));
        t.nd().putScalar(new long[]{0, 2}, 5f);
        assertEquals(5f, t.get(2));
        assertEquals(2, t.rows());
        assertEquals(3, t.cols());
        assertEquals(6, t.size());
        assertEquals("[2, 3]", t.shapeString());
        FloatTensor r3 = FloatTensor.zeros(2, 3, 4);
        assertEquals(6, r3.rows(), "a [B, T, C] tensor is read as [B*T, C]");
    }

    @Test
    void wrapAcceptsDenseCOrderFloatAndRejectsTheRest() {
        INDArray a = Nd4j.create(DataType.FLOAT, 3, 4);
        FloatTensor t = FloatTensor.wrap(a);
        t.set(5, 2f);
        assertEquals(2f, a.getFloat(1, 1));

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FloatTensor.wrap(Nd4j.create(DataType.DOUBLE, 3, 4)));
        assertTrue(e.getMessage().contains("DOUBLE"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> FloatTensor.wrap(Nd4j.create(DataType.FLOAT, new long[]{3, 4}, 'f')));
        assertTrue(e.getMessage().contains("ordering f"), e.getMessage());
        INDArray view = a.get(NDArrayIndex.all(), NDArrayIndex.interval(1, 3));
        assertThrows(IllegalArgumentException.class, () -> FloatTensor.wrap(view));
        INDArray rowView = a.get(NDArrayIndex.interval(1, 3), NDArrayIndex.all());
        assertThrows(IllegalArgumentException.class, () -> FloatTensor.wrap(rowView), "offset view");
    }

    @Test
    void rejectsBadShapesAndLengths() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FloatTensor.zeros(2, 0));
        assertTrue(e.getMessage().contains("dimension 1 is 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FloatTensor.of(new double[5], 2, 3));
        assertTrue(e.getMessage().contains("5") && e.getMessage().contains("[2, 3]"), e.getMessage());
    }

    @Test
    void floatArraysAndShapeRoundTrip() {
        FloatTensor t = FloatTensor.zeros(2, 3).copyFrom(new float[] {1.5f, -2f, 0f, Float.MIN_VALUE, 7f, -0f});
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {1.5f, -2f, 0f, Float.MIN_VALUE, 7f, -0f},
                t.toFloatArray());
        org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {2, 3}, t.shape());
        t.shape()[0] = 9;   // a copy: the tensor keeps its shape
        org.junit.jupiter.api.Assertions.assertEquals("[2, 3]", t.shapeString());
        org.junit.jupiter.api.Assertions.assertEquals("values: length 2 but tensor [2, 3] has 6 elements",
                org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                        () -> t.copyFrom(new float[2])).getMessage());
    }
}
