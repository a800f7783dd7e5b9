package com.example;

import com.example.model.Person;

public class App {
    /** Entry point. */
    public static void main(String[] args) {
        Person p = new Person("Ada");
        System.out.println(p.getName());
    }
}
